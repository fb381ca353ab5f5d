// A header of the outside project that has the same relative path as one of descent's. descent's
// own headers include <descent/data/dataset.h>, so this one must never be reached from them.
#error "a user's data/dataset.h was included by descent's headers"
