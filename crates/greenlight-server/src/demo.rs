//! `greenlight serve --demo`: seeds (idempotently) a studio, a production company, a
//! vendor, a production linked to them, people of every role with passwords and API
//! tokens, and declarations covering every outcome.
