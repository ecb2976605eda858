-- depends: 0013.knowledge-base
-- The notifier caps what one customer address receives per hour (mail.max_per_address_per_hour):
-- the count is read by address and time.
CREATE INDEX notifications_recipient_sent ON notifications (recipient, sent_at);
