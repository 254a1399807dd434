-- Expand: a normalised e-mail column, so that 2024.2 can make e-mail addresses unique without
-- regard to case. New and changed rows get it from the trigger; existing rows from the data
-- migration backfill_customer_email_lower.
ALTER TABLE customers ADD COLUMN email_lower text;

CREATE FUNCTION customers_sync_email_lower() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.email_lower := lower(NEW.email);
  RETURN NEW;
END $$;

CREATE TRIGGER customers_sync_email_lower
  BEFORE INSERT OR UPDATE OF email ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_sync_email_lower();
