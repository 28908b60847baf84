-- Unproven uploads (PostgreSQL): an export upload proves nothing, so what it stores is a
-- private copy of its uploader's (`unproven_by` = their principal id), never the account's
-- profile that others see (`unproven_by` = ''). An account has at most one profile others
-- see and one unproven copy per uploader, so the key becomes (platform, user_id,
-- unproven_by).

ALTER TABLE profiles ADD COLUMN unproven_by TEXT NOT NULL DEFAULT '';
ALTER TABLE profiles DROP CONSTRAINT profiles_platform_user_id_key;
ALTER TABLE profiles
    ADD CONSTRAINT profiles_platform_user_id_unproven_by_key UNIQUE (platform, user_id, unproven_by);

-- Profiles an export upload claimed become their uploader's unproven copies, and the
-- upload's account rows go: an account row now means the principal proved the account.
UPDATE profiles SET unproven_by = owner
    WHERE EXISTS (
        SELECT 1 FROM principal_accounts a
        WHERE a.method = 'export' AND a.platform = profiles.platform
          AND a.user_id = profiles.user_id AND a.principal_id = profiles.owner
    );
DELETE FROM principal_accounts WHERE method = 'export';
