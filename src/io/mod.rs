//! The edges where imagedef meets files and the terminal: bounded reads of input files
//! ([`input`]), data on stdout ([`stdout`]), logs and errors on stderr ([`logging`]), and values
//! from outside made safe to print as text ([`escape`]).

pub mod escape;
pub mod input;
pub mod logging;
pub mod stdout;
