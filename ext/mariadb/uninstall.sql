-- Removes the mailsec e-mail functions (docs/sql.md).
DROP FUNCTION IF EXISTS is_email;
DROP FUNCTION IF EXISTS email_diagnosis;
DROP FUNCTION IF EXISTS email_normalize;
DROP FUNCTION IF EXISTS email_local;
DROP FUNCTION IF EXISTS email_domain;
