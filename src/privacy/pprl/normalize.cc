#include "privacy/pprl/normalize.h"

#include <array>
#include <cstdint>
#include <cstdio>

namespace passerelle::pprl {
namespace {

// Decodes the code point at s[*i] and advances *i; returns -1 (and advances by one byte) for an
// invalid, overlong or truncated sequence or a surrogate.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b0 = static_cast<uint8_t>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int len;
  int32_t cp;
  int32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++*i;
    return -1;
  }
  if (*i + len > s.size()) {
    ++*i;
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return -1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return -1;
  }
  *i += len;
  return cp;
}

// U+00C0..U+00FF. '*' marks a ligature expanded in FoldCodePoint; ' ' the signs × and ÷.
constexpr std::string_view kLatin1 =
    "aaaaaa*ceeeeiiiidnooooo ouuuuy**"   // À..ß
    "aaaaaa*ceeeeiiiidnooooo ouuuuy*y";  // à..ÿ
static_assert(kLatin1.size() == 64);

// U+0100..U+017F (Latin Extended-A), in code point order; '*' marks Ĳ ĳ Œ œ.
constexpr std::string_view kLatinExtA =
    "aaaaaa"        // Ā ā Ă ă Ą ą
    "cccccccc"      // Ć ć Ĉ ĉ Ċ ċ Č č
    "dddd"          // Ď ď Đ đ
    "eeeeeeeeee"    // Ē ē Ĕ ĕ Ė ė Ę ę Ě ě
    "gggggggg"      // Ĝ ĝ Ğ ğ Ġ ġ Ģ ģ
    "hhhh"          // Ĥ ĥ Ħ ħ
    "iiiiiiiiii"    // Ĩ ĩ Ī ī Ĭ ĭ Į į İ ı
    "**"            // Ĳ ĳ
    "jj"            // Ĵ ĵ
    "kkk"           // Ķ ķ ĸ
    "llllllllll"    // Ĺ ĺ Ļ ļ Ľ ľ Ŀ ŀ Ł ł
    "nnnnnnnnn"     // Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ
    "oooooo"        // Ō ō Ŏ ŏ Ő ő
    "**"            // Œ œ
    "rrrrrr"        // Ŕ ŕ Ŗ ŗ Ř ř
    "ssssssss"      // Ś ś Ŝ ŝ Ş ş Š š
    "tttttt"        // Ţ ţ Ť ť Ŧ ŧ
    "uuuuuuuuuuuu"  // Ũ ũ Ū ū Ŭ ŭ Ů ů Ű ű Ų ų
    "ww"            // Ŵ ŵ
    "yyy"           // Ŷ ŷ Ÿ
    "zzzzzz"        // Ź ź Ż ż Ž ž
    "s";            // ſ
static_assert(kLatinExtA.size() == 128);

void AppendUtf8(int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void FoldCodePoint(int32_t cp, std::string* out) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out->push_back(c);
    return;
  }
  if (cp >= 0xC0 && cp <= 0xFF) {
    const char c = kLatin1[cp - 0xC0];
    if (c != '*') {
      out->push_back(c);
    } else if (cp == 0xC6 || cp == 0xE6) {
      out->append("ae");
    } else if (cp == 0xDE || cp == 0xFE) {
      out->append("th");
    } else {  // ß
      out->append("ss");
    }
    return;
  }
  if (cp >= 0x100 && cp <= 0x17F) {
    const char c = kLatinExtA[cp - 0x100];
    if (c != '*') {
      out->push_back(c);
    } else if (cp <= 0x133) {
      out->append("ij");
    } else {
      out->append("oe");
    }
    return;
  }
  switch (cp) {
    case 0xAA:  // ª
      out->push_back('a');
      return;
    case 0xBA:  // º
      out->push_back('o');
      return;
    case 0xAD:    // soft hyphen
    case 0x200B:  // zero-width space
    case 0x200C:
    case 0x200D:
    case 0xFEFF:  // byte-order mark
      return;
    case 0xB7:  // middle dot (Catalan l·l)
      out->push_back('.');
      return;
    case 0x192:  // ƒ
      out->push_back('f');
      return;
    case 0x218:  // Ș ș (Romanian)
    case 0x219:
      out->push_back('s');
      return;
    case 0x21A:  // Ț ț
    case 0x21B:
      out->push_back('t');
      return;
    case 0x1E9E:  // ẞ
      out->append("ss");
      return;
    case 0x2BC:  // modifier letter apostrophe
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x2032:
      out->push_back('\'');
      return;
    case 0xAB:  // « »
    case 0xBB:
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
      out->push_back('"');
      return;
    case 0x2026:  // …
      out->append("...");
      return;
    default:
      break;
  }
  if (cp >= 0x300 && cp <= 0x36F) return;  // combining marks (decomposed accents)
  if (cp >= 0x2010 && cp <= 0x2015) {      // hyphens and dashes
    out->push_back('-');
    return;
  }
  // Latin-1 signs and C1 controls, general punctuation and spaces (no-break, thin, narrow).
  if ((cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000) {
    out->push_back(' ');
    return;
  }
  AppendUtf8(cp, out);
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || static_cast<uint8_t>(c) >= 0x80;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
bool RealDay(int y, int m, int d) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
}

// Month names, folded (English then French).
constexpr std::array<std::string_view, 24> kMonthNames = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
    "janvier", "fevrier",  "mars",      "avril",   "mai",      "juin",
    "juillet", "aout",     "septembre", "octobre", "novembre", "decembre"};

// A month from a word: any prefix of at least 3 letters of one month's names ("aout" has 4).
int MonthFromWord(std::string_view word) {
  if (word.size() < 3) return 0;
  int found = 0;
  for (size_t i = 0; i < kMonthNames.size(); ++i) {
    if (kMonthNames[i].substr(0, word.size()) == word) {
      const int m = static_cast<int>(i % 12) + 1;
      if (found != 0 && found != m) return 0;  // ambiguous ("jui": juin or juillet)
      found = m;
    }
  }
  return found;
}

bool IsNumberDirective(std::string_view fmt, size_t i) {
  return i + 1 < fmt.size() && fmt[i] == '%' &&
         (fmt[i + 1] == 'Y' || fmt[i + 1] == 'm' || fmt[i + 1] == 'd');
}

// Matches the whole of `text` (folded, trimmed, single spaces) against `fmt`.
bool MatchFormat(std::string_view text, std::string_view fmt, DateParts* out) {
  DateParts p;
  size_t t = 0;
  size_t f = 0;
  bool have_y = false, have_m = false, have_d = false;
  while (f < fmt.size()) {
    if (fmt[f] == '%' && f + 1 < fmt.size()) {
      const char dir = fmt[f + 1];
      f += 2;
      if (dir == 'Y') {
        if (t + 4 > text.size()) return false;
        int v = 0;
        for (int k = 0; k < 4; ++k) {
          if (!IsDigit(text[t + k])) return false;
          v = v * 10 + (text[t + k] - '0');
        }
        t += 4;
        p.year = v;
        have_y = true;
      } else if (dir == 'm' || dir == 'd') {
        const bool exact_two = IsNumberDirective(fmt, f);
        size_t n = 0;
        int v = 0;
        while (t + n < text.size() && n < 2 && IsDigit(text[t + n])) {
          v = v * 10 + (text[t + n] - '0');
          ++n;
        }
        if (n == 0 || (exact_two && n != 2)) return false;
        t += n;
        if (dir == 'd' && text.substr(t, 2) == "er") t += 2;  // "1er janvier"
        (dir == 'm' ? p.month : p.day) = v;
        (dir == 'm' ? have_m : have_d) = true;
      } else if (dir == 'B' || dir == 'b') {
        size_t n = 0;
        while (t + n < text.size() && IsLower(text[t + n])) ++n;
        const int m = MonthFromWord(text.substr(t, n));
        if (m == 0) return false;
        t += n;
        if (t < text.size() && text[t] == '.') ++t;
        p.month = m;
        have_m = true;
      } else if (dir == '%') {
        if (t >= text.size() || text[t] != '%') return false;
        ++t;
      } else {
        return false;  // unknown directive
      }
    } else if (fmt[f] == ' ') {
      ++f;
      if (t < text.size() && text[t] == ' ') ++t;
    } else {
      if (t >= text.size() || text[t] != fmt[f]) return false;
      ++t;
      ++f;
    }
  }
  if (t != text.size() || !have_y || !have_m || !have_d) return false;
  p.valid = RealDay(p.year, p.month, p.day);
  *out = p;
  return true;
}

}  // namespace

std::string FoldToAscii(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    const int32_t cp = NextCodePoint(utf8, &i);
    if (cp >= 0) FoldCodePoint(cp, &out);
  }
  return out;
}

std::string NormalizeText(std::string_view utf8, TextMode mode) {
  const std::string folded = FoldToAscii(utf8);
  std::string out;
  out.reserve(folded.size());
  bool pending_space = false;
  for (char c : folded) {
    if (IsWordByte(c)) {
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    } else if (mode == TextMode::kWords) {
      pending_space = true;
    }
  }
  return out;
}

std::vector<std::string> SplitCodePoints(std::string_view utf8) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < utf8.size()) {
    const size_t start = i;
    const int32_t cp = NextCodePoint(utf8, &i);
    if (cp >= 0) out.emplace_back(utf8.substr(start, i - start));
  }
  return out;
}

std::string DateParts::Canonical() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", year, month, day);
  return buf;
}

std::span<const std::string> DefaultDateFormats() {
  static const std::array<std::string, 8> kFormats = {
      "%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%B %d %Y"};
  return kFormats;
}

bool ParseDateText(std::string_view text, std::span<const std::string> formats, DateParts* out) {
  // Fold case and accents ("Février"), turn commas into spaces ("March 5, 1980"), single spaces.
  std::string folded = FoldToAscii(text);
  std::string clean;
  for (char c : folded) {
    if (c == ',' || c == '\t') c = ' ';
    if (c == ' ' && (clean.empty() || clean.back() == ' ')) continue;
    clean.push_back(c);
  }
  while (!clean.empty() && clean.back() == ' ') clean.pop_back();
  if (clean.empty()) return false;
  bool have_invalid = false;
  DateParts first_invalid;
  for (const std::string& fmt : formats) {
    DateParts p;
    if (!MatchFormat(clean, fmt, &p)) continue;
    if (p.valid) {
      *out = p;
      return true;
    }
    if (!have_invalid) {
      have_invalid = true;
      first_invalid = p;
    }
  }
  if (have_invalid) *out = first_invalid;
  return have_invalid;
}

std::string Soundex(std::string_view ascii) {
  // Codes for a..z: vowels and y are 0 (they separate equal codes), h and w are 9 (ignored).
  static constexpr std::string_view kCodes = "01230129022455012623019202";
  std::string out;
  char last = 0;
  for (char c : ascii) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!IsLower(c)) continue;
    const char code = kCodes[c - 'a'];
    if (out.empty()) {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
      last = code;
      continue;
    }
    if (code == '9') continue;
    if (code != '0' && code != last) out.push_back(code);
    last = code;
    if (out.size() == 4) break;
  }
  if (out.empty()) return out;
  while (out.size() < 4) out.push_back('0');
  return out;
}

}  // namespace passerelle::pprl
