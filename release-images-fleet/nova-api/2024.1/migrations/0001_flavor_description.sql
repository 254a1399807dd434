ALTER TABLE flavors ADD COLUMN description text;
