-- The mail outbox (issue 16): a message is a row written in the same transaction as the change that causes it
-- (sign-up, a reset request, an invitation), delivered later by a worker. A delivery is recorded before it is sent
-- (state 'sending', attempts + 1), so a worker that stops between sending and marking leaves a row that says so: it is
-- never sent again by itself (MailOutboxRepository.recoverInterrupted marks it failed with the reason).
-- Additive only: an older release neither reads nor writes this table.
SET LOCAL lock_timeout = '5s';

CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Which template made it (verify-email, password-reset, invitation, …): for metrics and operators.
    template text NOT NULL CONSTRAINT mail_outbox_template_check CHECK (template ~ '^[a-z][a-z0-9-]{0,63}$'),
    recipient text NOT NULL CONSTRAINT mail_outbox_recipient_check CHECK (recipient <> '' AND octet_length(recipient) <= 254),
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text,
    -- Fixed when the row is written, so every attempt carries the same Message-ID (receivers can drop duplicates).
    message_id text NOT NULL CONSTRAINT mail_outbox_message_id_key UNIQUE,
    state text NOT NULL DEFAULT 'queued' CONSTRAINT mail_outbox_state_check CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set when an attempt starts (state 'sending'), cleared when it ends.
    sending_since timestamptz,
    last_error text,
    -- The server's answer to the message's data (its queue id), once sent.
    server_reply text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The worker's next message: due, queued, oldest first.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, created_at) WHERE state = 'queued';
-- Interrupted attempts, and the operators' lists by state.
CREATE INDEX mail_outbox_state_idx ON mail_outbox (state, created_at);
