-- A profile's own interests (Instagram's topics, from its data export), one per line:
-- validation refuses line breaks in them. Existing profiles have none.
ALTER TABLE profiles ADD COLUMN interests TEXT NOT NULL DEFAULT '';
