-- Expand: order statuses become a lookup table with small integer codes. The 2024.x application
-- still writes orders.status; the trigger derives status_code, and the data migration
-- backfill_order_status_code fills the orders placed before 2025.1. A later release contracts.
CREATE TABLE order_statuses (
  code smallint PRIMARY KEY,
  name text NOT NULL UNIQUE
);
INSERT INTO order_statuses (code, name) VALUES (0, 'new'), (1, 'paid'), (2, 'shipped'), (3, 'cancelled');

ALTER TABLE orders ADD COLUMN status_code smallint REFERENCES order_statuses (code);

CREATE FUNCTION order_status_code(status text) RETURNS smallint LANGUAGE sql STABLE AS $$
  SELECT code FROM order_statuses WHERE name = status
$$;

CREATE FUNCTION orders_sync_status_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.status_code := order_status_code(NEW.status);
  RETURN NEW;
END $$;

CREATE TRIGGER orders_sync_status_code
  BEFORE INSERT OR UPDATE OF status ON orders
  FOR EACH ROW EXECUTE FUNCTION orders_sync_status_code();
