DROP USER IF EXISTS 'orders_reader'@'%';

DELETE FROM `lambdards`.`managed_users` WHERE `name` = 'orders_reader';
