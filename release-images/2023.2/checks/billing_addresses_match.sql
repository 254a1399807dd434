-- check: Billing addresses match their customers
-- While both copies exist (until 2024.2), they must agree, or the contraction would lose data.
SELECT CASE WHEN n = 0 THEN 0 ELSE 2 END AS result,
       CASE WHEN n = 0 THEN 'every billing address matches its customer row'
            ELSE n || ' billing addresses differ from their customer row' END AS details
FROM (
  SELECT count(*) AS n
  FROM customers c JOIN addresses a ON a.customer_id = c.id AND a.kind = 'billing'
  WHERE (c.street, c.city, c.postcode, c.country) IS DISTINCT FROM (a.street, a.city, a.postcode, a.country)
) mismatches;
