-- Back to one profile per account (PostgreSQL), without `unproven_by`.

-- Back to one profile per account: an unproven copy goes when its account has a profile
-- others see or an older copy; the rest become their account's profile again, claimed by
-- an export as before.
DELETE FROM profiles
    WHERE unproven_by <> ''
      AND EXISTS (
          SELECT 1 FROM profiles p
          WHERE p.platform = profiles.platform AND p.user_id = profiles.user_id
            AND (p.unproven_by = '' OR p.id < profiles.id)
      );
INSERT INTO principal_accounts (platform, user_id, principal_id, username, method, created_at, updated_at)
    SELECT platform, user_id, owner, username, 'export', created_at, updated_at
    FROM profiles
    WHERE unproven_by <> '' AND owner IN (SELECT id FROM principals)
      AND NOT EXISTS (
          SELECT 1 FROM principal_accounts a
          WHERE a.platform = profiles.platform AND a.user_id = profiles.user_id
      );

ALTER TABLE profiles DROP CONSTRAINT profiles_platform_user_id_unproven_by_key;
ALTER TABLE profiles ADD CONSTRAINT profiles_platform_user_id_key UNIQUE (platform, user_id);
ALTER TABLE profiles DROP COLUMN unproven_by;
