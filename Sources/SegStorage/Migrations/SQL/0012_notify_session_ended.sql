-- A session ended (a refresh-token family revoked: logout, a replayed refresh token, a password change): listeners
-- re-check that user's open event sockets, as for account changes, and close those of the ended session. PostgreSQL
-- folds identical notifications of one transaction, so revoking a whole family notifies once.
-- Additive only: older releases ignore the extra notifications' effect (they re-check the account as before).
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION seghub_notify_session_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('seghub_events', json_build_object('type', 'account.changed', 'userId', NEW.user_id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER refresh_tokens_notify_session_ended
    AFTER UPDATE OF revoked_at ON refresh_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION seghub_notify_session_ended();
