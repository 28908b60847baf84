DROP TABLE oauth_states;
DROP TABLE sessions;
DROP TABLE principal_accounts;
DROP TABLE principals;
