//! The functions pack expressions can call besides CEL's standard library.
//!
//! - cel-go's lists extension (`ext.Lists()`), as the `cel` crate ships it: `list.flatten()`,
//!   `lists.range(n)`, `slice`, `distinct`, `reverse`, `sort`, `sortBy`. `lists.range` and
//!   `flatten` are what a rule needs to run once per element of a nested list (once per
//!   mention of every input, say).
//! - `days(date)`: the day number of a `YYYY-MM-DD` date (0001-01-01 is day 1), so that
//!   `days(a) - days(b)` counts the calendar days from `b` to `a`. CEL's own `timestamp` and
//!   `duration` need the crate's `chrono` feature, which brings a time-zone database and the
//!   system clock into a crate that reads neither; declarations hold calendar dates, and a
//!   day count is all their rules compare.
//! - `sameName(a, b)`: the two names are the same person's, compared as the consent registry
//!   matches a performer to a talent entry: surrounding whitespace trimmed, case ignored
//!   (Unicode lower case, so `Ángel` and `ÁNGEL` match). CEL's strings extension has only
//!   `lowerAscii`.
//!
//! The two functions are written here because they are a few lines over what the crate already
//! has (the format's date reading, `chrono`), and no CEL library offers them over plain strings.
//! `docs/decisions/0002-pack-engine-extensions.md` has the alternatives.

use chrono::Datelike;

use cel::ExecutionError;
use cel::common::types::{CelBool, CelInt, CelString};

/// Registers the extension and the functions on `env`.
pub(crate) fn register(env: &mut cel::Env) -> Result<(), cel::DeclarationError> {
    cel::extensions::lists(env)?;
    cel::add_overload!(env, fn days: (CelString) -> Result<CelInt>)?;
    cel::add_overload!(env, fn same_name: (CelString, CelString) -> CelBool)?;
    Ok(())
}

/// `days("2026-11-10")`: the date's day number in the proleptic Gregorian calendar
/// (0001-01-01 is day 1); an error for anything but a `YYYY-MM-DD` calendar date.
fn days(date: &CelString<'_>) -> Result<CelInt, ExecutionError> {
    let text = date.inner();
    // The same reading as the format's dates, so a date the parser accepted always counts.
    let parsed = crate::format::parse_iso_date(text);
    match parsed {
        Some(day) => Ok(CelInt::from(i64::from(day.num_days_from_ce()))),
        None => Err(ExecutionError::function_error(
            "days",
            format!("{text:?} is not a date YYYY-MM-DD"),
        )),
    }
}

/// `sameName(a, b)`: equal after trimming, ignoring case.
fn same_name(a: &CelString<'_>, b: &CelString<'_>) -> CelBool {
    let fold = |s: &str| {
        s.chars()
            .flat_map(char::to_lowercase)
            .collect::<Vec<char>>()
    };
    let (a, b) = (a.inner().trim(), b.inner().trim());
    // The same bytes are the same name; only a difference needs case folding.
    CelBool::from(a == b || fold(a) == fold(b))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cel::{Context, Value};

    fn eval(expr: &str) -> Result<Value, cel::ExecutionError> {
        let env = Arc::clone(crate::pack::env());
        let program = env.compile(expr).expect("compiles");
        program.execute(&Context::with_env(env))
    }

    #[test]
    fn days_count_calendar_days_across_months_years_and_leap_days() {
        assert_eq!(eval("days('0001-01-01')"), Ok(Value::Int(1)));
        assert_eq!(
            eval("days('2026-11-10') - days('2026-11-08')"),
            Ok(Value::Int(2))
        );
        assert_eq!(
            eval("days('2026-03-01') - days('2026-02-28')"),
            Ok(Value::Int(1))
        );
        assert_eq!(
            eval("days('2024-03-01') - days('2024-02-28')"),
            Ok(Value::Int(2))
        );
        assert_eq!(
            eval("days('2027-01-01') - days('2026-12-31')"),
            Ok(Value::Int(1))
        );
        assert_eq!(
            eval("days('2026-11-08') - days('2026-11-10')"),
            Ok(Value::Int(-2))
        );
    }

    #[test]
    fn days_refuses_what_is_not_a_calendar_date() {
        for bad in [
            "2026-02-30",
            "2026-2-03",
            "26-02-03",
            "2026-02-03T00:00",
            "",
            "soon",
        ] {
            let result = eval(&format!("days('{bad}')"));
            assert!(result.is_err(), "{bad}: {result:?}");
        }
    }

    #[test]
    fn same_name_trims_and_ignores_case() {
        assert_eq!(
            eval("sameName(' Ana Ruiz ', 'ana ruiz')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(eval("sameName('ÁNGEL', 'ángel')"), Ok(Value::Bool(true)));
        assert_eq!(
            eval("sameName('Ana Ruiz', 'Ana  Ruiz')"),
            Ok(Value::Bool(false))
        );
        assert_eq!(eval("sameName('Ana', 'Anna')"), Ok(Value::Bool(false)));
    }

    #[test]
    fn nested_lists_flatten_into_one_scope_per_element() {
        assert_eq!(
            eval(
                "lists.range(3).map(i, lists.range(i).map(j, [i, j])).flatten() == [[1, 0], [2, 0], [2, 1]]"
            ),
            Ok(Value::Bool(true))
        );
    }
}
