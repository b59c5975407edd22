CREATE DATABASE IF NOT EXISTS `lambdards`;

CREATE TABLE IF NOT EXISTS `lambdards`.`managed_users` (`name` VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, `created_at` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, `owner` VARCHAR(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '') ENGINE=InnoDB COMMENT='database users created by lambdards';

INSERT INTO `lambdards`.`managed_users` (`name`, `owner`) VALUES ('items_owner', '') ON DUPLICATE KEY UPDATE `owner` = '';

CREATE USER IF NOT EXISTS 'items_owner'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS';

ALTER USER 'items_owner'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;

REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'items_owner'@'%';

GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `app`.* TO 'items_owner'@'%';
