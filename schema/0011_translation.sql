-- 0011_translation: which provider translated each message, voice transcripts, and the teams' glossaries.

-- The provider that translated the message (openai, anthropic, gemini, deepl, libretranslate, apertium, …);
-- NULL when it went untranslated or before 0011.
ALTER TABLE messages ADD COLUMN translated_by TEXT CHECK (translated_by IS NULL OR length(translated_by) BETWEEN 1 AND 32);
-- What a voice message says, as transcribed (NULL: not a voice message, or not transcribed).
ALTER TABLE messages ADD COLUMN transcript TEXT CHECK (transcript IS NULL OR length(transcript) <= 16384);

-- A manager's glossary: one entry is a trade term in the languages the team uses ("rebar" · "ferralla" ·
-- "арматура"), or a name or part number that is never translated (keep = 1, one term under language '*').
-- Starter entries come from the industry picked at registration; the manager edits them with /glossary.
CREATE TABLE glossary_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    manager_id  INTEGER NOT NULL REFERENCES managers(id),
    keep        INTEGER NOT NULL DEFAULT 0 CHECK (keep IN (0, 1)),
    origin      TEXT NOT NULL CHECK (origin IN ('starter', 'manager')),
    created_at  TEXT NOT NULL CHECK (created_at IS strftime('%Y-%m-%d %H:%M:%f', created_at))
) STRICT;
CREATE INDEX glossary_entries_by_manager ON glossary_entries(manager_id, id);

CREATE TABLE glossary_terms (
    entry_id    INTEGER NOT NULL REFERENCES glossary_entries(id) ON DELETE CASCADE,
    manager_id  INTEGER NOT NULL REFERENCES managers(id),
    language    TEXT NOT NULL CHECK (language = '*' OR (length(language) BETWEEN 2 AND 16 AND language NOT GLOB '*[^a-zA-Z-]*')),
    term        TEXT NOT NULL CHECK (length(term) BETWEEN 1 AND 100 AND term NOT GLOB '*[' || char(9, 10, 13) || ']*'),
    -- The term as compared: lowercased by BridgeOS in every script (SQLite's lower() knows only ASCII,
    -- PostgreSQL's knows them all; one key keeps both databases agreeing).
    term_key    TEXT NOT NULL CHECK (length(term_key) BETWEEN 1 AND 200),
    PRIMARY KEY (entry_id, language)
) STRICT, WITHOUT ROWID;
-- A term means one thing per team and language: "rebar" and "Rebar" cannot be two entries.
CREATE UNIQUE INDEX glossary_terms_unique ON glossary_terms(manager_id, language, term_key);
