//! The destructive-SQL guard: reads every step's SQL with a real PostgreSQL-dialect parser (and
//! shell steps' `dropdb`, `pg_restore --clean` and SQL handed to `psql`) and names what would
//! destroy something. A step that does so without `destructive = true` makes the runbook invalid,
//! so it can never run without a typed confirmation.
//!
//! Statements the parser does not understand are scanned token by token, and dollar-quoted bodies
//! (`DO $$ … $$`, function bodies) are read as SQL too, so a `DROP` cannot hide inside them.

use sqlparser::ast::{AlterTableOperation, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

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

/// Statements whose tree could be deeper than this are not parsed: the parser, printing the tree
/// and dropping it all recurse, and a deep enough tree overflows the stack. Such a statement is
/// scanned word by word instead.
const MAX_TREE_DEPTH: usize = 64;

/// Brackets nested deeper than this are not parsed either, nor statements the parser would
/// recurse into deeper (`NOT NOT …`, `CASE WHEN CASE …`): it recurses through several calls per
/// level.
const MAX_BRACKETS: usize = 16;

/// Whether the parser's tree for `tokens` stays shallow enough: bracket nesting, and bracket
/// nesting plus every operator (each can wrap the expression so far in one more node,
/// `a = b = c …`), within the limits.
fn shallow(tokens: &[Token]) -> bool {
    use sqlparser::keywords::Keyword;
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    for token in tokens {
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            Token::Word(w) => {
                if matches!(
                    w.keyword,
                    Keyword::AND
                        | Keyword::OR
                        | Keyword::NOT
                        | Keyword::IS
                        | Keyword::LIKE
                        | Keyword::ILIKE
                        | Keyword::SIMILAR
                        | Keyword::IN
                        | Keyword::BETWEEN
                        | Keyword::COLLATE
                        | Keyword::AT
                        | Keyword::OVERLAPS
                        | Keyword::XOR
                ) {
                    operators += 1;
                }
            }
            Token::EOF
            | Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Comma
            | Token::Whitespace(_)
            | Token::Period
            | Token::Colon
            | Token::SemiColon
            | Token::Placeholder(_) => {}
            _ => operators += 1,
        }
    }
    deepest <= MAX_BRACKETS && deepest + operators <= MAX_TREE_DEPTH
}

/// What the SQL text would destroy, one phrase per finding (empty: nothing).
pub fn sql_hazards(sql: &str) -> Vec<String> {
    hazards_at(sql, 0)
}

fn hazards_at(sql: &str, depth: usize) -> Vec<String> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return word_hazards(&words_of(sql), sql);
    };
    let mut found = Vec::new();
    for chunk in tokens.split(|t| *t == Token::SemiColon) {
        let text: String = chunk.iter().map(ToString::to_string).collect();
        if text.trim().is_empty() {
            continue;
        }
        let parsed = if shallow(chunk) {
            Parser::new(&dialect)
                .with_recursion_limit(MAX_BRACKETS)
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_statements())
                .ok()
        } else {
            None
        };
        match parsed {
            Some(statements) => found.extend(statements.iter().filter_map(statement_hazard)),
            None => {
                let words: Vec<String> = chunk
                    .iter()
                    .filter_map(|t| match t {
                        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
                        _ => None,
                    })
                    .collect();
                found.extend(word_hazards(&words, &text));
            }
        }
        if depth < MAX_DEPTH {
            for token in chunk {
                if let Token::DollarQuotedString(body) = token {
                    found.extend(hazards_at(&body.value, depth + 1));
                }
            }
        }
    }
    found.dedup();
    found
}

fn statement_hazard(statement: &Statement) -> Option<String> {
    let text = statement.to_string();
    let short = snippet(&text);
    match statement {
        Statement::Delete(d) if d.selection.is_none() => {
            Some(format!("deletes every row without a WHERE (`{short}`)"))
        }
        Statement::Update(u) if u.selection.is_none() => {
            Some(format!("updates every row without a WHERE (`{short}`)"))
        }
        Statement::AlterTable(alter) => alter.operations.iter().find_map(|op| match op {
            AlterTableOperation::DisableRowLevelSecurity => {
                Some(format!("disables row-level security on {}", alter.name))
            }
            AlterTableOperation::NoForceRowLevelSecurity => Some(format!(
                "stops forcing row-level security on {}",
                alter.name
            )),
            AlterTableOperation::DropColumn { .. } => {
                Some(format!("drops a column of {} (`{short}`)", alter.name))
            }
            AlterTableOperation::DropConstraint { .. } => {
                Some(format!("drops a constraint of {} (`{short}`)", alter.name))
            }
            _ => None,
        }),
        Statement::AlterRole { name, .. } => Some(format!("alters role {name}")),
        _ if text.starts_with("DROP ") => Some(format!("drops something (`{short}`)")),
        _ if text.starts_with("TRUNCATE ") => Some(format!("truncates (`{short}`)")),
        _ if text.starts_with("ALTER USER ") => Some(format!("alters a role (`{short}`)")),
        _ => None,
    }
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

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
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
