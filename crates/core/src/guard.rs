//! The destructive-SQL guard: reads every step's SQL with a real PostgreSQL parser (squawk's,
//! the one the lint uses), and shell steps' `dropdb`, `pg_restore --clean` and SQL handed to
//! `psql`, and names what would destroy something. A step that does so without `destructive = true` makes the runbook invalid,
//! so it can never run without a typed confirmation.
//!
//! Statements the parser does not understand are scanned token by token, and dollar-quoted bodies
//! (`DO $$ … $$`, function bodies) are read as SQL too, so a `DROP` cannot hide inside them.

use squawk_lexer::{LiteralKind, TokenKind};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

/// Objects whose `DROP` destroys something.
const DROPPABLE: &[&str] = &[
    "TABLE",
    "POLICY",
    "SCHEMA",
    "DATABASE",
    "INDEX",
    "VIEW",
    "MATERIALIZED",
    "FUNCTION",
    "PROCEDURE",
    "ROLE",
    "USER",
    "COLUMN",
    "CONSTRAINT",
    "TRIGGER",
    "SEQUENCE",
    "TYPE",
    "OWNED",
    "EXTENSION",
    "RULE",
    "DOMAIN",
];

/// How deep dollar-quoted bodies are followed.
const MAX_DEPTH: usize = 4;

/// Statements whose tree could be deeper than this are not parsed: the parser recurses, and a
/// deep enough tree overflows the stack. Such a statement is scanned word by word instead.
const MAX_TREE_DEPTH: usize = 64;

/// Brackets nested deeper than this are not parsed either, nor statements the parser would
/// recurse into deeper (`NOT NOT …`, `CASE WHEN CASE …`): it recurses through several calls per
/// level.
const MAX_BRACKETS: usize = 16;

/// Keywords that can wrap the expression so far in one more node.
const OPERATOR_WORDS: &[&str] = &[
    "AND", "OR", "NOT", "IS", "LIKE", "ILIKE", "SIMILAR", "IN", "BETWEEN", "COLLATE", "AT",
    "OVERLAPS", "CASE", "WHEN",
];

/// One token of SQL text: its kind, its text and the byte where it starts (whitespace and
/// comments are dropped).
#[derive(Clone, Copy)]
struct Tok<'a> {
    kind: TokenKind,
    text: &'a str,
    start: usize,
}

impl Tok<'_> {
    /// The token as an upper-case keyword or bare identifier, if it is one.
    fn word(&self) -> Option<String> {
        (self.kind == TokenKind::Ident).then(|| self.text.to_ascii_uppercase())
    }
}

/// The tokens of `sql` with their text; whitespace and comments left out.
fn lex(sql: &str) -> Vec<Tok<'_>> {
    let mut at = 0usize;
    let mut out = Vec::new();
    for token in squawk_lexer::tokenize(sql) {
        let len = token.len as usize;
        let start = at;
        let text = sql.get(at..at + len).unwrap_or_default();
        at += len;
        if !matches!(
            token.kind,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment { .. }
        ) {
            out.push(Tok {
                kind: token.kind,
                text,
                start,
            });
        }
    }
    out
}

/// Whether the parser's tree for `tokens` stays shallow enough: bracket nesting, and bracket
/// nesting plus every operator (each can wrap the expression so far in one more node,
/// `a = b = c …`), within the limits.
fn shallow(tokens: &[Tok<'_>]) -> bool {
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    for token in tokens {
        match token.kind {
            TokenKind::OpenParen | TokenKind::OpenBracket | TokenKind::OpenCurly => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            TokenKind::CloseParen | TokenKind::CloseBracket | TokenKind::CloseCurly => {
                depth = depth.saturating_sub(1);
            }
            TokenKind::Ident => {
                if token
                    .word()
                    .is_some_and(|w| OPERATOR_WORDS.contains(&w.as_str()))
                {
                    operators += 1;
                }
            }
            TokenKind::Literal { .. }
            | TokenKind::QuotedIdent { .. }
            | TokenKind::PositionalParam { .. }
            | TokenKind::Comma
            | TokenKind::Dot
            | TokenKind::Semi
            | TokenKind::Eof => {}
            _ => operators += 1,
        }
    }
    deepest <= MAX_BRACKETS && deepest + operators <= MAX_TREE_DEPTH
}

/// Whether every statement of `sql` is shallow enough for a parser to read without overflowing
/// the stack (the lint asks before it parses; the guard reads deeper ones word by word).
pub fn parseable(sql: &str) -> bool {
    lex(sql).split(|t| t.kind == TokenKind::Semi).all(shallow)
}

/// What the SQL text would destroy, one phrase per finding (empty: nothing).
pub fn sql_hazards(sql: &str) -> Vec<String> {
    hazards_at(sql, 0)
}

fn hazards_at(sql: &str, depth: usize) -> Vec<String> {
    let tokens = lex(sql);
    let mut found = Vec::new();
    for chunk in tokens.split(|t| t.kind == TokenKind::Semi) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let text = statement_text(sql, first, last);
        let parsed = if shallow(chunk) {
            parsed_hazards(text)
        } else {
            None
        };
        match parsed {
            Some(hazards) => found.extend(hazards),
            None => {
                let words: Vec<String> = chunk.iter().filter_map(Tok::word).collect();
                found.extend(word_hazards(&words, text));
            }
        }
        if depth < MAX_DEPTH {
            for body in chunk.iter().filter_map(dollar_body) {
                found.extend(hazards_at(body, depth + 1));
            }
        }
    }
    found.dedup();
    found
}

/// The text of `sql` from the token `first` to the token `last`, both included.
fn statement_text<'a>(sql: &'a str, first: &Tok<'a>, last: &Tok<'a>) -> &'a str {
    sql.get(first.start..last.start + last.text.len())
        .unwrap_or_default()
}

/// The body of a dollar-quoted string (`$$ … $$`, `$fn$ … $fn$`).
fn dollar_body<'a>(token: &Tok<'a>) -> Option<&'a str> {
    if !matches!(
        token.kind,
        TokenKind::Literal {
            kind: LiteralKind::DollarQuotedString { .. }
        }
    ) {
        return None;
    }
    let tag_len = token.text.get(1..)?.find('$')? + 2;
    let body_end = token.text.len().checked_sub(tag_len)?;
    token.text.get(tag_len..body_end.max(tag_len))
}

/// The hazards of one statement read by the parser; `None` when the parser could not read it
/// whole (it is then read word by word).
fn parsed_hazards(text: &str) -> Option<Vec<String>> {
    let parse = SourceFile::parse(text);
    if !parse.errors().is_empty() {
        return None;
    }
    Some(
        parse
            .tree()
            .stmts()
            .flat_map(|stmt| statement_hazards(&stmt))
            .collect(),
    )
}

fn statement_hazards(statement: &ast::Stmt) -> Vec<String> {
    let node = statement.syntax();
    let text = node.text().to_string();
    let short = snippet(&text);
    let first = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let mut found = Vec::new();
    // A DELETE or UPDATE anywhere in the statement (`WITH gone AS (DELETE FROM t …)` too).
    for delete in node.descendants().filter_map(ast::Delete::cast) {
        if delete.where_clause_or_current_of().is_none() {
            found.push(format!("deletes every row without a WHERE (`{short}`)"));
        }
    }
    for update in node.descendants().filter_map(ast::Update::cast) {
        if update.where_clause_or_current_of().is_none() {
            found.push(format!("updates every row without a WHERE (`{short}`)"));
        }
    }
    match statement {
        ast::Stmt::AlterTable(alter) => {
            let name = alter
                .table_relation_name()
                .map(|n| n.syntax().text().to_string())
                .unwrap_or_default();
            found.extend(alter.actions().filter_map(|action| match action {
                ast::AlterTableAction::DisableRls(_) => {
                    Some(format!("disables row-level security on {name}"))
                }
                ast::AlterTableAction::NoForceRls(_) => {
                    Some(format!("stops forcing row-level security on {name}"))
                }
                ast::AlterTableAction::DropColumn(_) => {
                    Some(format!("drops a column of {name} (`{short}`)"))
                }
                ast::AlterTableAction::DropConstraint(_) => {
                    Some(format!("drops a constraint of {name} (`{short}`)"))
                }
                _ => None,
            }));
        }
        ast::Stmt::AlterRole(_) | ast::Stmt::AlterUser(_) => {
            found.push(format!("alters a role (`{short}`)"));
        }
        _ if first == "DROP" => found.push(format!("drops something (`{short}`)")),
        _ if first == "TRUNCATE" => found.push(format!("truncates (`{short}`)")),
        _ => {}
    }
    found
}

/// The same rules on bare keywords, for statements the parser cannot read.
fn word_hazards(words: &[String], text: &str) -> Vec<String> {
    let short = snippet(text.trim());
    let has = |w: &str| words.iter().any(|x| x == w);
    let seq = |s: &[&str]| {
        words
            .windows(s.len())
            .any(|w| w.iter().zip(s).all(|(a, b)| a == b))
    };
    let mut found = Vec::new();
    // In procedural bodies a statement can follow BEGIN, THEN, ELSE, LOOP…: look everywhere.
    let drops = words
        .windows(2)
        .any(|w| w[0] == "DROP" && DROPPABLE.contains(&w[1].as_str()));
    if drops || words.first().is_some_and(|w| w == "DROP") {
        found.push(format!("drops something (`{short}`)"));
    }
    if has("TRUNCATE") {
        found.push(format!("truncates (`{short}`)"));
    }
    if (seq(&["DELETE", "FROM"]) || words.first().is_some_and(|w| w == "UPDATE")) && !has("WHERE") {
        found.push(format!("changes every row without a WHERE (`{short}`)"));
    }
    if seq(&["DISABLE", "ROW", "LEVEL", "SECURITY"]) {
        found.push(format!("disables row-level security (`{short}`)"));
    }
    if seq(&["NO", "FORCE", "ROW", "LEVEL", "SECURITY"]) {
        found.push(format!("stops forcing row-level security (`{short}`)"));
    }
    if seq(&["ALTER", "ROLE"]) || seq(&["ALTER", "USER"]) {
        found.push(format!("alters a role (`{short}`)"));
    }
    found
}

/// What a shell script would destroy: `dropdb`, `dropuser`, `pg_restore --clean`, and hazardous
/// SQL in the quoted arguments or here-documents of a `psql` command line.
pub fn shell_hazards(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut heredoc_body = String::new();
    for line in script.lines() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                found.extend(sql_hazards(&heredoc_body));
                heredoc = None;
                heredoc_body.clear();
            } else {
                heredoc_body.push_str(line);
                heredoc_body.push('\n');
            }
            continue;
        }
        for part in line.split([';', '|', '&']) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let Some(at) = words.iter().position(|w| {
                matches!(
                    w.rsplit('/').next(),
                    Some("dropdb" | "dropuser" | "pg_restore")
                )
            }) else {
                continue;
            };
            let program = words[at].rsplit('/').next().unwrap_or_default();
            let args = &words[at + 1..];
            let clean = args.iter().any(|w| {
                *w == "--clean" || (w.starts_with('-') && !w.starts_with("--") && w.contains('c'))
            });
            match program {
                "dropdb" => found.push(format!("drops a database (`{}`)", snippet(part.trim()))),
                "dropuser" => found.push(format!("drops a role (`{}`)", snippet(part.trim()))),
                _ if clean => found.push(format!(
                    "restores over existing objects with pg_restore --clean (`{}`)",
                    snippet(part.trim())
                )),
                _ => {}
            }
        }
        let command = |name: &str| {
            line.split_whitespace()
                .any(|w| w.rsplit('/').next() == Some(name))
        };
        if command("psql") {
            for quoted in quoted_strings(line) {
                found.extend(sql_hazards(&quoted));
            }
            if let Some(pos) = line.find("<<") {
                let marker = line[pos + 2..]
                    .trim_start_matches('-')
                    .trim()
                    .trim_matches(['\'', '"'])
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                if !marker.is_empty() {
                    heredoc = Some(marker);
                }
            }
        }
    }
    found
}

fn quoted_strings(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let s: String = chars.by_ref().take_while(|&x| x != c).collect();
            out.push(s);
        }
    }
    out
}

fn snippet(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 70 {
        format!("{}…", one_line.chars().take(70).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_destroys() {
        let cases = [
            ("DROP TABLE customers", "drops"),
            ("drop policy p on customers", "drops"),
            ("TRUNCATE services", "truncates"),
            ("DELETE FROM vehicles", "without a WHERE"),
            ("UPDATE customers SET name = 'x'", "without a WHERE"),
            (
                "ALTER TABLE customers DISABLE ROW LEVEL SECURITY",
                "disables row-level security",
            ),
            (
                "ALTER TABLE customers NO FORCE ROW LEVEL SECURITY",
                "stops forcing",
            ),
            ("ALTER ROLE app_user BYPASSRLS", "alters"),
            ("DO $$ BEGIN EXECUTE 'x'; DROP TABLE t; END $$", "drops"),
            (
                "CREATE FUNCTION f() RETURNS void AS $fn$ TRUNCATE t $fn$ LANGUAGE sql",
                "truncates",
            ),
            (
                "WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone",
                "without a WHERE",
            ),
            (
                "ALTER TABLE public.t DROP COLUMN c",
                "drops a column of public.t",
            ),
            ("ALTER TABLE t DROP CONSTRAINT k", "drops a constraint"),
            ("ALTER USER app_user WITH PASSWORD 'x'", "alters a role"),
            ("drop owned by app_user", "drops"),
            // Not SQL the parser reads whole: read word by word.
            ("DROP TABLE t t t (", "drops"),
        ];
        for (sql, want) in cases {
            let found = sql_hazards(sql);
            assert!(
                found.iter().any(|f| f.contains(want)),
                "{sql}: {found:?} lacks {want}"
            );
        }
    }

    #[test]
    fn leaves_safe_sql_alone() {
        for sql in [
            "SELECT count(*) FROM customers",
            "UPDATE service_operations SET internal_code = 'x' WHERE internal_code IS NULL",
            "DELETE FROM sessions WHERE expires_at < now()",
            "ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS subcategory text",
            "CREATE INDEX IF NOT EXISTS i ON t (a)",
            "ALTER TABLE customers ENABLE ROW LEVEL SECURITY; ALTER TABLE customers FORCE ROW LEVEL SECURITY",
            "-- DROP TABLE customers\nSELECT 1",
            "SELECT 'DROP TABLE customers; TRUNCATE t'",
            "SELECT \"drop\" FROM t",
            "UPDATE t SET a = 1 WHERE CURRENT OF c",
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        ] {
            assert_eq!(sql_hazards(sql), Vec::<String>::new(), "{sql}");
        }
    }

    #[test]
    fn finds_hazards_in_shell_scripts() {
        let script = "set -e\ndropdb shop\npg_restore -c -d \"$DATABASE_URL\" x.dump\npsql \"$URL\" -c 'TRUNCATE services'\npsql \"$URL\" <<SQL\nDROP TABLE t;\nSQL\npg_restore --list x.dump\n";
        let found = shell_hazards(script);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(shell_hazards("pg_dump -Fc x; pg_restore --list f").is_empty());
    }
}
