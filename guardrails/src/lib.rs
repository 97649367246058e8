//! The human gate. Built out under issue 5.
