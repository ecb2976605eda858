-- depends: 0008.login-throttle
-- The ledger's row triggers refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: a
-- statement-level trigger refuses it too. (The application role still owns the table and could
-- drop the trigger; the signed files in the archive stay the primary record and `ccdr drill
-- verify` compares the two.)
CREATE FUNCTION drill_ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the drill ledger is append-only: TRUNCATE refused';
END;
$$;

CREATE TRIGGER drill_ledger_no_truncate BEFORE TRUNCATE ON drill_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION drill_ledger_no_truncate();
