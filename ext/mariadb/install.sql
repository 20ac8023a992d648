-- Creates the mailsec e-mail functions in a MariaDB (or MySQL) server
-- (docs/sql.md). Needs mailsec_email.so in the server's plugin_dir
-- (SHOW VARIABLES LIKE 'plugin_dir') and the INSERT privilege on mysql.*.
-- Safe to run again, e.g. after an upgrade.
--   mariadb -u root < install.sql
DROP FUNCTION IF EXISTS is_email;
DROP FUNCTION IF EXISTS email_diagnosis;
DROP FUNCTION IF EXISTS email_normalize;
DROP FUNCTION IF EXISTS email_local;
DROP FUNCTION IF EXISTS email_domain;
CREATE FUNCTION is_email RETURNS INTEGER SONAME 'mailsec_email.so';
CREATE FUNCTION email_diagnosis RETURNS STRING SONAME 'mailsec_email.so';
CREATE FUNCTION email_normalize RETURNS STRING SONAME 'mailsec_email.so';
CREATE FUNCTION email_local RETURNS STRING SONAME 'mailsec_email.so';
CREATE FUNCTION email_domain RETURNS STRING SONAME 'mailsec_email.so';
