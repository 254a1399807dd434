-- Expand: order totals become integer cents (no more rounding surprises in decimal arithmetic).
-- The 2023.x application still writes orders.total; the trigger derives total_cents from it.
-- Rows from before are filled by the data migration backfill_order_total_cents.
ALTER TABLE orders ADD COLUMN total_cents bigint;

CREATE FUNCTION orders_sync_total_cents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.total_cents := (NEW.total * 100)::bigint;
  RETURN NEW;
END $$;

CREATE TRIGGER orders_sync_total_cents
  BEFORE INSERT OR UPDATE OF total ON orders
  FOR EACH ROW EXECUTE FUNCTION orders_sync_total_cents();
