CREATE DATABASE IF NOT EXISTS `lambdards`;

CREATE TABLE IF NOT EXISTS `lambdards`.`managed_users` (`name` VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, `created_at` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, `owner` VARCHAR(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '') ENGINE=InnoDB COMMENT='database users created by lambdards';

INSERT INTO `lambdards`.`managed_users` (`name`, `owner`) VALUES ('orders_reader', '') ON DUPLICATE KEY UPDATE `owner` = '';

CREATE USER IF NOT EXISTS 'orders_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS';

ALTER USER 'orders_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;

REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'orders_reader'@'%';

GRANT SELECT ON `app`.* TO 'orders_reader'@'%';
