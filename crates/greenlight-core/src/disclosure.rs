//! Drafting a production's disclosure text from the obligations of its uses.
