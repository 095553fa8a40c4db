// Normalisation of identifying fields before they are encoded into a CLK, so that spelling
// variants of the same value give the same tokens: accents and case are folded (French and Québec
// names: "Hélène Côté-Lefèvre" and "HELENE COTE LEFEVRE" compare equal), punctuation is removed,
// dates written in several formats become one canonical form.
//
// The folding table covers Latin-1 Supplement (U+00C0..U+00FF), Latin Extended-A (U+0100..U+017F),
// a few Latin Extended-B letters (ƒ, Ș, ș, Ț, ț), ẞ, combining diacritical marks (U+0300..U+036F,
// dropped, so decomposed NFD input folds like composed NFC input) and typographic punctuation
// (no-break space, dashes, curly quotes, guillemets). Ligatures expand: œ → oe, æ → ae, ß → ss,
// ĳ → ij, þ → th. Other non-ASCII code points are kept unchanged (they are letters of other
// scripts); bytes that are not valid UTF-8 are dropped.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::pprl {

// How separators (spaces, punctuation) are treated after folding.
enum class TextMode {
  kWords,    // letters and digits; every run of other characters becomes one space; trimmed
  kCompact,  // letters and digits only: "Jean-François d'Amours" -> "jeanfrancoisdamours"
};

// Folds accents, ligatures and case to lower-case ASCII (see the table above); keeps everything
// else, including punctuation.
std::string FoldToAscii(std::string_view utf8);

// FoldToAscii, then keeps [a-z0-9] and non-ASCII letters, treating every other character as a
// separator according to `mode`.
std::string NormalizeText(std::string_view utf8, TextMode mode);

// The code points of a UTF-8 string, each as its own UTF-8 string (invalid bytes dropped).
std::vector<std::string> SplitCodePoints(std::string_view utf8);

// A date read from text. `valid` is false when the components matched a format but do not name a
// real calendar day (e.g. 1965-02-31, a typo); such a date is still usable as tokens.
struct DateParts {
  int year = 0;
  int month = 0;
  int day = 0;
  bool valid = false;
  // "YYYYMMDD" with zero padding.
  std::string Canonical() const;
};

// Formats a date can be read with: a strftime-like pattern where %Y is a four-digit year, %m a
// month (1 or 2 digits; exactly 2 when the next element is another number), %d a day (the same,
// "1er" accepted as in French), %B a month name in English or French (accents and case folded,
// any prefix of at least 3 letters: "févr.", "sept", "December"); spaces in the pattern match any
// run of spaces; every other character matches itself.
// The default list, tried in order: %Y-%m-%d, %Y%m%d, %Y/%m/%d, %d/%m/%Y, %d-%m-%Y, %d.%m.%Y,
// %d %B %Y, %B %d %Y. Day-first is the French and Québec convention; US month-first dates need an
// explicit "%m/%d/%Y" in the schema.
std::span<const std::string> DefaultDateFormats();

// Reads a date: the first format under which the text is a real calendar day wins; when none is,
// the first format the text matches at all gives an invalid DateParts (valid = false). Returns
// false when the text matches no format (then the value counts as missing).
bool ParseDateText(std::string_view text, std::span<const std::string> formats, DateParts* out);

// American Soundex (letter + 3 digits) of the letters of an already folded ASCII string; empty
// when there are no letters. Used for blocking keys.
std::string Soundex(std::string_view ascii);

}  // namespace passerelle::pprl
