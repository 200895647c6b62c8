-- Realtime events: every change that a WebSocket client may care about is announced with
-- pg_notify('seghub_events', json) by a trigger, so every writer (the API, the workers of any
-- segserver process, segctl, an operator's psql) emits events without code of its own. The
-- notification is sent when the transaction commits and dropped when it rolls back.
-- Payloads stay far below NOTIFY's 8000-byte limit. docs/events.md describes the shapes.
SET LOCAL lock_timeout = '5s';

-- images.status changed → {"type": "image.status", projectId, imageId, status, at}
CREATE FUNCTION seghub_notify_image_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('seghub_events', json_build_object(
        'type', 'image.status',
        'projectId', NEW.project_id,
        'imageId', NEW.id,
        'status', NEW.status,
        'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER images_notify_status
    AFTER UPDATE OF status ON images
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION seghub_notify_image_status();

-- an export was created, or its status or progress changed
-- → {"type": "export.status", exportId, projectId, status, progress}
CREATE FUNCTION seghub_notify_export_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('seghub_events', json_build_object(
        'type', 'export.status',
        'exportId', NEW.id,
        'projectId', NEW.project_id,
        'status', NEW.status,
        'progress', NEW.progress
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER exports_notify_created
    AFTER INSERT ON exports
    FOR EACH ROW EXECUTE FUNCTION seghub_notify_export_status();

CREATE TRIGGER exports_notify_status
    AFTER UPDATE OF status, progress ON exports
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress)
    EXECUTE FUNCTION seghub_notify_export_status();

-- A membership was added, changed or removed (also by a project's cascading delete): listeners drop
-- what they cached about the project's members. Never sent to clients.
CREATE FUNCTION seghub_notify_member_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed project_members;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    PERFORM pg_notify('seghub_events', json_build_object(
        'type', 'member.changed',
        'projectId', changed.project_id,
        'userId', changed.user_id
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER project_members_notify_changed
    AFTER INSERT OR DELETE OR UPDATE OF role ON project_members
    FOR EACH ROW EXECUTE FUNCTION seghub_notify_member_changed();

-- An account was disabled or signed out everywhere (password change): listeners re-check that
-- user's open sockets. Never sent to clients.
CREATE FUNCTION seghub_notify_account_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('seghub_events', json_build_object('type', 'account.changed', 'userId', NEW.id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify_account_changed
    AFTER UPDATE OF disabled_at, tokens_valid_after ON users
    FOR EACH ROW WHEN (
        OLD.disabled_at IS DISTINCT FROM NEW.disabled_at OR OLD.tokens_valid_after IS DISTINCT FROM NEW.tokens_valid_after
    )
    EXECUTE FUNCTION seghub_notify_account_changed();
