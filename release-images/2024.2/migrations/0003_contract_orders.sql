-- Contract: total_cents is now the only total. The trigger goes with the column it read.
DROP TRIGGER orders_sync_total_cents ON orders;
DROP FUNCTION orders_sync_total_cents();
ALTER TABLE orders DROP COLUMN total;
ALTER TABLE orders ALTER COLUMN total_cents SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_total_cents_not_negative CHECK (total_cents >= 0);
