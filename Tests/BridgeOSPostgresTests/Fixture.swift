import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing

/// A database with a row in every table and the values moves get wrong: Telegram ids above 2^31, emoji, RTL
/// and control characters, NULLs, soft-deleted managers and workers, disconnected connections, booleans,
/// JSON, an outbox row depending on a later one, and AUTOINCREMENT ids above the highest remaining row.
enum Fixture {
    static let manager: Int64 = 5_000_000_001      // > 2^32
    static let worker: Int64 = 7_123_456_789
    static let formerWorker: Int64 = 2_147_483_648  // 2^31 exactly
    static let formerManager: Int64 = 9_007_199_254_740_993  // > 2^53: a double would round it
    static let nasty = "Tab\there, \"quotes\" 'single' \\backslash\\ \\N \\. new\nline\r\n😀👷‍♀️ مرحبا بالعالم עברית \u{200F}end"

    static func make(at path: String) throws {
        let database = try AppDatabase.openFile(at: path)
        try database.writer.write { db in
            // Enough rows that text order (10 before 9) and number order differ.
            for updateID in 1...12 {
                try db.execute(sql: """
                    INSERT INTO updates (bot_slot, update_id, status, kind, received_at, updated_at)
                    VALUES (3, ?, 'handled', 'message', '2026-01-03 08:00:00.000', '2026-01-03 08:00:00.000')
                    """, arguments: [updateID])
            }
            try db.execute(sql: """
                INSERT INTO users (id, display_name, username, language, gender, created_at, updated_at) VALUES
                  (\(manager), 'Marta 👷‍♀️', 'marta_builds', 'en', 'female', '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678'),
                  (\(worker), 'محمد العربي', NULL, 'ar', 'male', '2026-01-03 00:00:00.000', '2026-02-03 10:11:12.013'),
                  (\(formerWorker), 'Iván', 'ivan', 'es', 'unspecified', '2025-12-31 23:59:59.999', '2026-01-01 00:00:00.001'),
                  (\(formerManager), 'Old Boss', NULL, 'pt-BR', 'unspecified', '2025-06-01 12:00:00.000', '2025-06-01 12:00:00.000');
                INSERT INTO managers (id, code, industry, time_zone, created_at, updated_at, deleted_at, home_slot) VALUES
                  (\(manager), 'ABCD2345', 'construction', 'Europe/Madrid', '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678', NULL, 1),
                  (\(formerManager), 'ZYXW9876', 'cleaning', 'UTC', '2025-06-01 12:00:00.000', '2025-07-01 12:00:00.000', '2025-07-01 12:00:00.000', NULL);
                INSERT INTO workers (id, created_at, updated_at, deleted_at) VALUES
                  (\(worker), '2026-01-03 00:00:00.000', '2026-01-03 00:00:00.000', NULL),
                  (\(formerWorker), '2025-12-31 23:59:59.999', '2026-01-05 00:00:00.000', '2026-01-05 00:00:00.000');
                INSERT INTO connections (id, manager_id, worker_id, bot_slot, status, connected_at, disconnected_at) VALUES
                  (1, \(manager), \(formerWorker), 2, 'disconnected', '2026-01-01 00:00:00.001', '2026-01-05 00:00:00.000'),
                  (2, \(manager), \(worker), 1, 'active', '2026-01-03 00:00:01.000', NULL),
                  (3, \(formerManager), \(formerWorker), 1, 'disconnected', '2025-06-02 00:00:00.000', '2025-07-01 12:00:00.000');
                INSERT INTO messages (id, connection_id, sender_id, original_text, translated_text, source_language, target_language,
                                      source_message_id, delivered_message_id, created_at, undelivered_notice_at, media_group_id) VALUES
                  (1, 2, \(manager), 'Bring the ladder', 'أحضر السلم', 'en', 'ar', 10, 20, '2026-01-03 08:00:00.000', NULL, NULL),
                  (2, 2, \(worker), ?, NULL, 'ar', 'en', 11, NULL, '2026-01-03 08:01:00.500', '2026-01-03 08:02:00.000', '13579246801357924'),
                  (3, 1, \(formerWorker), '¿Dónde está? 🧱', 'Where is it? 🧱', 'es', 'en', 2147483649, 9223372036854775807, '2026-01-04 09:00:00.000', NULL, NULL),
                  (7, 2, \(manager), 'deleted by retention', NULL, 'en', 'ar', NULL, NULL, '2026-01-05 00:00:00.000', NULL, NULL);
                DELETE FROM messages WHERE id = 7;
                INSERT INTO tasks (id, connection_id, description, description_translated, status, created_at, completed_at) VALUES
                  (1, 2, 'Pour the slab', 'صب البلاطة', 'open', '2026-01-03 09:00:00.000', NULL),
                  (2, 1, 'Clean up', NULL, 'done', '2026-01-02 09:00:00.000', '2026-01-02 17:30:00.250');
                INSERT INTO subscriptions (id, manager_id, external_id, status, renews_at, ends_at, portal_url, created_at, updated_at) VALUES
                  (1, \(manager), 'sub_123', 'active', '2026-02-02 00:00:00.000', NULL, 'https://example.invalid/portal?x=1&y=ü', '2026-01-02 03:05:00.000', '2026-01-02 03:05:00.000'),
                  (2, \(formerManager), NULL, 'expired', NULL, '2025-07-01 00:00:00.000', NULL, '2025-06-01 12:00:00.000', '2025-07-01 00:00:00.000');
                INSERT INTO usage_tracking (manager_id, period_start, messages_count, is_blocked, updated_at) VALUES
                  (\(manager), '2026-01-01 00:00:00.000', 42, 0, '2026-01-03 08:01:00.500'),
                  (\(formerManager), '2025-07-01 00:00:00.000', 1000, 1, '2025-07-01 00:00:00.000');
                INSERT INTO feedback (id, user_id, message, status, created_at, read_at) VALUES
                  (1, \(worker), 'شكرا 🙏', 'read', '2026-01-04 00:00:00.000', '2026-01-04 01:00:00.000'),
                  (2, \(manager), ?, 'new', '2026-01-04 00:00:00.000', NULL);
                INSERT INTO updates (bot_slot, update_id, status, kind, attempts, last_error, received_at, updated_at) VALUES
                  (1, 900000001, 'handled', 'message', 1, NULL, '2026-01-03 08:01:00.000', '2026-01-03 08:01:00.100'),
                  (2, 5, 'failed', 'callback_query', 5, 'boom: \\ "x"', '2026-01-03 08:01:00.000', '2026-01-03 08:05:00.000');
                INSERT INTO outbox (id, bot_slot, chat_id, method, payload, lane, is_group, depends_on, depends_on_field, status, attempts,
                                    not_before, result, result_message_id, last_error, created_at, updated_at, sent_at, message_id) VALUES
                  (1, 1, \(worker), 'sendMessage', ?, 'chat', 0, NULL, NULL, 'sent', 1, NULL, '{"message_id":20}', 20, NULL,
                   '2026-01-03 08:00:00.100', '2026-01-03 08:00:00.300', '2026-01-03 08:00:00.300', 1),
                  (2, 1, -1001234567890, 'sendMessage', '{"chat_id":-1001234567890,"text":"group"}', 'immediate', 1, 3, 'reply_parameters.message_id',
                   'pending', 0, '2026-01-03 08:10:00.000', NULL, NULL, NULL, '2026-01-03 08:00:00.200', '2026-01-03 08:00:00.200', NULL, NULL),
                  (3, 1, -1001234567890, 'sendPhoto', '{ "chat_id" : -1001234567890 ,"photo":"AgAC","caption":"x"}', 'chat', 1, NULL, NULL,
                   'dead', 5, NULL, NULL, NULL, 'Bad Request: chat not found', '2026-01-03 08:00:00.300', '2026-01-03 08:09:00.000', NULL, NULL),
                  (9, 2, \(formerWorker), 'sendMessage', '{"chat_id":2147483648,"text":"gone"}', 'chat', 0, NULL, NULL, 'unreachable', 1, NULL, NULL, NULL,
                   'Forbidden: bot was blocked by the user', '2026-01-04 00:00:00.000', '2026-01-04 00:00:01.000', NULL, 3);
                DELETE FROM outbox WHERE id = 9;
                INSERT INTO outbox (id, bot_slot, chat_id, method, payload, status, created_at, updated_at) VALUES
                  (4, 2, \(formerWorker), 'sendMessage', '{"chat_id":2147483648,"text":"kept"}', 'unreachable', '2026-01-04 00:00:00.000', '2026-01-04 00:00:01.000');
                INSERT INTO jobs (id, kind, queue_key, payload, status, attempts, not_before, last_error, created_at, updated_at) VALUES
                  (1, 'relay', 'connection:2', '{"message_id":2,"nested":{"a":[1,2.5,true,null]}}', 'done', 1, NULL, NULL, '2026-01-03 08:01:00.500', '2026-01-03 08:01:01.000'),
                  (2, 'relay', 'connection:2', '{}', 'pending', 3, '2026-01-03 08:30:00.000', 'provider 503', '2026-01-03 08:02:00.000', '2026-01-03 08:05:00.000');
                INSERT INTO unreachable_chats (bot_slot, chat_id, reason, since) VALUES (2, \(formerWorker), 'blocked', '2026-01-04 00:00:01.000');
                INSERT INTO conversation_states (bot_slot, user_id, flow, step, data, updated_at, expires_at) VALUES
                  (1, \(manager), 'invite', 'confirm', '{"slot":3,"name":"Ølaf ✓"}', '2026-01-05 00:00:00.000', '2026-01-06 00:00:00.000');
                INSERT INTO invites (id, token, manager_id, bot_slot, status, created_at, expires_at, used_by, used_at) VALUES
                  (1, 'InviteToken0001', \(manager), 1, 'used', '2026-01-02 10:00:00.000', '2026-01-09 10:00:00.000', \(worker), '2026-01-03 00:00:00.000'),
                  (2, 'InviteToken0002', \(manager), 3, 'active', '2026-01-05 10:00:00.000', '2026-01-12 10:00:00.000', NULL, NULL),
                  (3, 'InviteToken0003', \(manager), 2, 'revoked', '2026-01-01 10:00:00.000', '2026-01-08 10:00:00.000', NULL, NULL);
                INSERT INTO bot_chats (bot_slot, user_id, started_at, reopened_at) VALUES
                  (1, \(manager), '2026-01-02 03:04:05.678', NULL),
                  (1, \(worker), '2026-01-03 00:00:00.000', '2026-01-04 00:00:00.000');
                INSERT INTO connection_notices (connection_id, kind, since) VALUES
                  (2, 'delayed', '2026-01-03 08:05:00.000'), (2, 'counterpart_unreachable', '2026-01-04 00:00:00.000');
                INSERT INTO person_notices (user_id, kind, period, sent_at) VALUES
                  (\(manager), 'upsell', '2026-01', '2026-01-20 00:00:00.000'), (\(manager), 'hourly_cap', '2026-01-03 08', '2026-01-03 08:59:59.999');
                UPDATE tasks SET message_id = 1, due_at = '2026-01-03 17:00:00.000', reminded_at = '2026-01-03 17:00:00.500',
                                 declined_at = '2026-01-03 17:30:00.000', decline_reason = 'لا يوجد إسمنت' WHERE id = 1;
                UPDATE managers SET daily_hour = 18 WHERE id = \(manager);
                UPDATE outbox SET report_delivery = 1 WHERE id = 1;
                INSERT INTO announcements (id, manager_id, bot_slot, needs_confirmation, summary_outbox_id, summary_digest, created_at) VALUES
                  (1, \(manager), 1, 1, 1, '0123456789abcdef', '2026-01-03 07:59:00.000');
                INSERT INTO receipts (id, message_id, connection_id, announcement_id, needs_confirmation, state, status_outbox_id, status_digest,
                                      delivered_at, confirmed_at, reminded_at, escalated_at, created_at) VALUES
                  (1, 1, 2, 1, 1, 'delivered', NULL, NULL, '2026-01-03 08:00:00.300', '2026-01-03 08:10:00.000', NULL, NULL, '2026-01-03 08:00:00.000'),
                  (2, NULL, 1, 1, 1, 'refused', NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-03 08:00:00.000'),
                  (3, 2, 2, NULL, 1, 'sending', 1, 'fedcba9876543210', NULL, NULL, '2026-01-03 09:00:00.000', '2026-01-03 10:00:00.000', '2026-01-03 08:01:00.000');
                INSERT INTO daily_summaries (manager_id, local_day, sent_at) VALUES (\(manager), '2026-01-03', '2026-01-03 17:00:00.123');
                UPDATE messages SET kind = 'caption', reply_to_id = 1, entities = '[{"type":"bold","offset":0,"length":3}]', revision = 2,
                                    translated_revision = 1, edited_at = '2026-01-03 08:05:00.250', withdrawn_at = '2026-01-03 09:00:00.000'
                WHERE id = 2;
                UPDATE users SET show_original = 1, delivery_marks = 0 WHERE id = \(worker);
                INSERT INTO message_copies (message_id, part, connection_id, chat_message_id, kind, revision, created_at) VALUES
                  (1, 0, 2, 20, 'text', 0, '2026-01-03 08:00:00.300'),
                  (1, 1, 2, 9007199254740993, 'text', 0, '2026-01-03 08:00:00.400'),
                  (2, 0, 2, 21, 'bare', 1, '2026-01-03 08:01:01.000');
                UPDATE subscriptions SET plan = 'BridgeOS Team – Monthly', provider_updated_at = '2026-01-02 03:04:59.123',
                                         payment_status = 'failed', payment_updated_at = '2026-01-02 03:05:00.001' WHERE id = 1;
                UPDATE usage_tracking SET bonus_messages = 50 WHERE manager_id = \(manager);
                INSERT INTO webhook_deliveries (digest, provider, event, outcome, detail, received_at) VALUES
                  ('\(String(repeating: "ab", count: 32))', 'lemonsqueezy', 'subscription_created', 'applied', NULL, '2026-01-02 03:05:00.000'),
                  ('\(String(repeating: "0f", count: 32))', 'lemonsqueezy', 'order_created', 'ignored', 'not a subscription event', '2026-01-02 03:06:00.000');
                INSERT INTO referrals (referred_id, referrer_id, reward_messages, created_at) VALUES
                  (\(manager), \(formerManager), 50, '2026-01-02 03:04:05.678');
                UPDATE feedback SET language = 'ar', bot_slot = 2, answer = 'Thank you — شكرا', answered_by = 42,
                                    answered_at = '2026-01-04 01:00:00.000' WHERE id = 1;
                INSERT INTO feedback_notices (outbox_id, feedback_id, admin_id, bot_slot, chat_message_id, created_at) VALUES
                  (9007199254740993, 1, 42, 2, 77, '2026-01-04 00:00:01.000'),
                  (3, 2, 42, 1, NULL, '2026-01-04 00:00:02.000');
                INSERT INTO admin_accounts (id, username, password_hash, created_at, updated_at, last_login_at) VALUES
                  (1, 'ada', '$2b$12$abcdefghijklmnopqrstuuJ0bF3l8mFQ7VQyM1tWcXhYd5Zs4r7W.', '2026-01-05 00:00:00.000', '2026-01-05 00:00:00.000', NULL),
                  (2, 'ops@example.com', '$2b$13$0123456789012345678901OEhqVv3c2oI7Y2Tq9V8bI0p0Y1yXQ1m', '2026-01-05 00:00:00.000',
                   '2026-01-06 00:00:00.000', '2026-01-06 12:00:00.001');
                INSERT INTO admin_sessions (key_digest, value, expires_at) VALUES
                  ('\(String(repeating: "cd", count: 32))', '{"account":1,"csrf":"x"}', '2026-01-06 00:00:00.000'),
                  ('\(String(repeating: "ef", count: 32))', '{"account":2,"csrf":"y"}', NULL);
                INSERT INTO admin_links (digest, account_id, created_at, expires_at, used_at) VALUES
                  ('\(String(repeating: "12", count: 32))', NULL, '2026-01-05 00:00:00.000', '2026-01-06 00:00:00.000', '2026-01-05 00:01:00.000'),
                  ('\(String(repeating: "34", count: 32))', 1, '2026-01-05 00:00:00.000', '2026-01-05 00:15:00.000', NULL);
                INSERT INTO alerts (condition, detail, raised_at, notified_at, cleared_at) VALUES
                  ('slot_stopped:2', 'token refused', '2026-01-05 01:00:00.000', '2026-01-05 01:00:00.500', NULL),
                  ('disk_low', NULL, '2026-01-05 02:00:00.000', NULL, '2026-01-05 02:30:00.000');
                INSERT INTO app_state (key, value, updated_at) VALUES ('backup.last', '{"ok":true}', '2026-01-05 03:00:00.000');
                UPDATE users SET erased_at = '2026-01-07 00:00:00.000' WHERE id = \(formerManager);
                UPDATE messages SET translated_by = 'deepl', transcript = 'Trae la escalera — «ya»' WHERE id = 1;
                INSERT INTO glossary_entries (id, manager_id, keep, origin, created_at) VALUES
                  (1, \(manager), 0, 'starter', '2026-01-08 00:00:00.000'),
                  (2, \(manager), 1, 'manager', '2026-01-08 00:00:01.000');
                INSERT INTO glossary_terms (entry_id, manager_id, language, term, term_key) VALUES
                  (1, \(manager), 'en', 'Rebar', 'rebar'), (1, \(manager), 'es', 'ferralla', 'ferralla'),
                  (1, \(manager), 'uk', 'Арматура', 'арматура'), (2, \(manager), '*', 'Hilti TE-30', 'hilti te-30');
                """, arguments: [nasty, nasty, #"{"chat_id":7123456789,"text":"\#(nasty.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\t", with: "\\t"))","reply_markup":{"inline_keyboard":[]}}"#])
        }
    }

    /// Runs `body` with a temporary directory and the fixture's database in it (`source.sqlite`).
    static func withSource<T>(_ body: (URL, String) async throws -> T) async throws -> T {
        try await withTemporaryDirectoryAsync { directory in
            let source = directory.appendingPathComponent("source.sqlite").path
            try make(at: source)
            return try await body(directory, source)
        }
    }

    static func withSource<T>(_ body: (URL, String) throws -> T) throws -> T {
        try withTemporaryDirectory { directory in
            let source = directory.appendingPathComponent("source.sqlite").path
            try make(at: source)
            return try body(directory, source)
        }
    }

    /// Every row of every table (sorted) and the AUTOINCREMENT counters, for comparing two files.
    static func content(of path: String) throws -> String {
        try rows(of: path) + "\n" + sequences(of: path).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n")
    }

    /// Every row of every table, sorted.
    static func rows(of path: String) throws -> String {
        var text = ""
        try StoreInspection(path: path).eachTableContent { table, chunk in text += table + " " + chunk }
        return text
    }

    /// sqlite_sequence: the highest id each AUTOINCREMENT table ever gave.
    static func sequences(of path: String) throws -> [String: Int64] {
        let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        return try queue.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence").map {
                ($0["name"] as String, $0["seq"] as Int64)
            })
        }
    }

    /// Row counts per table.
    static func rowCounts(of path: String) throws -> [String: Int] {
        try StoreInspection(path: path).rowCounts()
    }
}
