ALTER TABLE profiles DROP COLUMN interests;
