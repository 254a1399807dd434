-- check: Order totals in cents match the decimal totals
SELECT CASE WHEN n = 0 THEN 0 ELSE 2 END AS result,
       CASE WHEN n = 0 THEN 'every order''s total_cents equals total * 100'
            ELSE n || ' orders have total_cents different from total * 100' END AS details
FROM (SELECT count(*) AS n FROM orders WHERE total_cents IS DISTINCT FROM (total * 100)::bigint) mismatches;
