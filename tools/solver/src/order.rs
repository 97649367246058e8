//! Order model (see below).
