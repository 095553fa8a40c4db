// Normalisation before encoding: accents (French and Québec names), case, punctuation, dates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "privacy/pprl/normalize.h"

namespace passerelle::pprl {
namespace {

TEST(PprlNormalizeTest, FoldsFrenchAndQuebecAccentsAndCase) {
  EXPECT_EQ(FoldToAscii("Hélène Côté-Lefèvre"), "helene cote-lefevre");
  EXPECT_EQ(FoldToAscii("ÉLODIE GAGNÉ"), "elodie gagne");
  EXPECT_EQ(FoldToAscii("François Bélanger"), "francois belanger");
  EXPECT_EQ(FoldToAscii("Noël Loïc Benoît"), "noel loic benoit");
  EXPECT_EQ(FoldToAscii("Hervé Gérard Raphaël"), "herve gerard raphael");
  EXPECT_EQ(FoldToAscii("Jérôme Théberge Dûchesne"), "jerome theberge duchesne");
  EXPECT_EQ(FoldToAscii("Aimée Ève Zoé"), "aimee eve zoe");
  EXPECT_EQ(FoldToAscii("À Â Ä à â ä"), "a a a a a a");
  EXPECT_EQ(FoldToAscii("È É Ê Ë è é ê ë"), "e e e e e e e e");
  EXPECT_EQ(FoldToAscii("Î Ï î ï Ô ô Û Ù Ü û ù ü"), "i i i i o o u u u u u u");
  EXPECT_EQ(FoldToAscii("Ç ç Ÿ ÿ Ñ ñ"), "c c y y n n");
  EXPECT_EQ(FoldToAscii("Œuvre cœur Æ æ"), "oeuvre coeur ae ae");
  EXPECT_EQ(FoldToAscii("Straße Łódź Ørsted Ĳssel Šťastný"), "strasse lodz orsted ijssel stastny");
}

TEST(PprlNormalizeTest, DecomposedAccentsFoldLikeComposedOnes) {
  // "Hélène" in NFD: e + U+0301, e + U+0300.
  EXPECT_EQ(FoldToAscii("He\xCC\x81le\xCC\x80ne"), "helene");
  EXPECT_EQ(NormalizeText("He\xCC\x81le\xCC\x80ne", TextMode::kCompact),
            NormalizeText("Hélène", TextMode::kCompact));
}

TEST(PprlNormalizeTest, PunctuationAndSpaces) {
  EXPECT_EQ(NormalizeText("Jean-François d'Amours", TextMode::kCompact), "jeanfrancoisdamours");
  EXPECT_EQ(NormalizeText("Jean François D’Amours", TextMode::kCompact), "jeanfrancoisdamours");
  EXPECT_EQ(NormalizeText("  12, rue St-Denis  (app. 3) ", TextMode::kWords),
            "12 rue st denis app 3");
  EXPECT_EQ(NormalizeText("H2X\xC2\xA0"
                          "1Y4",
                          TextMode::kCompact),
            "h2x1y4");  // no-break space
  EXPECT_EQ(NormalizeText("Saint–Jean—sur…Richelieu", TextMode::kWords),
            "saint jean sur richelieu");
  EXPECT_EQ(NormalizeText("«\xE2\x80\xAFO’Neil\xE2\x80\xAF»", TextMode::kWords), "o neil");
  EXPECT_EQ(NormalizeText("---", TextMode::kWords), "");
  EXPECT_EQ(NormalizeText("", TextMode::kCompact), "");
}

TEST(PprlNormalizeTest, InvalidUtf8IsDroppedAndOtherScriptsKept) {
  EXPECT_EQ(FoldToAscii("ab\xFF"
                        "c\xC3"),
            "abc");  // stray and truncated bytes
  EXPECT_EQ(FoldToAscii("a\xC0\xAF"
                        "b"),
            "ab");  // overlong '/'
  EXPECT_EQ(NormalizeText("Ωmega Ärzte", TextMode::kWords), "Ωmega arzte");
  EXPECT_EQ(SplitCodePoints("éa€"), (std::vector<std::string>{"é", "a", "€"}));
}

std::string Canon(std::string_view text, std::vector<std::string> formats = {}) {
  DateParts d;
  const auto f = formats.empty() ? DefaultDateFormats() : std::span<const std::string>(formats);
  if (!ParseDateText(text, f, &d)) return "none";
  return d.Canonical() + (d.valid ? "" : "!");
}

TEST(PprlNormalizeTest, DatesInSeveralFormats) {
  EXPECT_EQ(Canon("1980-03-12"), "19800312");
  EXPECT_EQ(Canon("19800312"), "19800312");
  EXPECT_EQ(Canon("1980/3/12"), "19800312");
  EXPECT_EQ(Canon("12/03/1980"), "19800312");  // day first: France and Québec
  EXPECT_EQ(Canon("12-03-1980"), "19800312");
  EXPECT_EQ(Canon("12.3.1980"), "19800312");
  EXPECT_EQ(Canon("12 mars 1980"), "19800312");
  EXPECT_EQ(Canon("12 MARS 1980"), "19800312");
  EXPECT_EQ(Canon("1er janvier 2000"), "20000101");
  EXPECT_EQ(Canon("5 févr. 1980"), "19800205");
  EXPECT_EQ(Canon("5 Février 1980"), "19800205");
  EXPECT_EQ(Canon("17 août 1975"), "19750817");
  EXPECT_EQ(Canon("March 5, 1980"), "19800305");
  EXPECT_EQ(Canon("5 Sept 1980"), "19800905");
  EXPECT_EQ(Canon("  1980-03-12 "), "19800312");
  EXPECT_EQ(Canon("03/12/1980", {"%m/%d/%Y"}), "19800312");  // US order needs an explicit format
}

TEST(PprlNormalizeTest, ImpossibleDatesAreKeptAsWrittenAndGarbageIsMissing) {
  EXPECT_EQ(Canon("1980-02-30"), "19800230!");
  EXPECT_EQ(Canon("19651313"), "19651313!");
  EXPECT_EQ(Canon("29/02/2001"), "20010229!");
  EXPECT_EQ(Canon("29/02/2000"), "20000229");  // a leap year
  EXPECT_EQ(Canon("hello"), "none");
  EXPECT_EQ(Canon(""), "none");
  EXPECT_EQ(Canon("12 jui 1980"), "none");  // juin or juillet: ambiguous
  EXPECT_EQ(Canon("1980-03-12x"), "none");
  // A valid reading wins over an earlier invalid one.
  EXPECT_EQ(Canon("13/12/1980", {"%m/%d/%Y", "%d/%m/%Y"}), "19801213");
}

TEST(PprlNormalizeTest, Soundex) {
  EXPECT_EQ(Soundex("robert"), "R163");
  EXPECT_EQ(Soundex("rupert"), "R163");
  EXPECT_EQ(Soundex("ashcraft"), "A261");
  EXPECT_EQ(Soundex("tymczak"), "T522");
  EXPECT_EQ(Soundex("pfister"), "P236");
  EXPECT_EQ(Soundex("honeyman"), "H555");
  EXPECT_EQ(Soundex("lee"), "L000");
  EXPECT_EQ(Soundex("123"), "");
}

}  // namespace
}  // namespace passerelle::pprl
