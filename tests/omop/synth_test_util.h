// Shared helpers of the synthetic-data tests: generated databases cached per (profile, persons,
// seed) for the whole test program, and small SQL helpers.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "omop/synth/synth.h"
#include "store/data_source.h"
#include "store/duckdb_source.h"

namespace passerelle::omop::synth::testing {

// An in-memory database holding a generated population; built once per parameters.
inline store::DataSource& Generated(Profile profile, int64_t persons, uint64_t seed,
                                    SynthReport* report = nullptr) {
  static std::map<std::tuple<int, int64_t, uint64_t>,
                  std::pair<std::unique_ptr<store::DataSource>, SynthReport>>
      cache;
  auto key = std::make_tuple(static_cast<int>(profile), persons, seed);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto db = store::OpenDuckDb({});
    EXPECT_TRUE(db.ok());
    SynthOptions o;
    o.profile = profile;
    o.persons = persons;
    o.seed = seed;
    o.eras = true;
    auto r = GenerateSynthetic(o, **db);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    it = cache.emplace(key, std::make_pair(std::move(*db), r.ok() ? *r : SynthReport{})).first;
  }
  if (report != nullptr) *report = it->second.second;
  return *it->second.first;
}

inline int64_t Int(store::DataSource& db, const std::string& sql) {
  auto v = store::QueryInt(db, sql);
  EXPECT_TRUE(v.ok()) << v.status().ToString() << "\n" << sql;
  return v.ok() ? *v : -1;
}

inline double Dbl(store::DataSource& db, const std::string& sql) {
  auto c = store::QueryAll(db, sql);
  EXPECT_TRUE(c.ok()) << c.status().ToString() << "\n" << sql;
  if (!c.ok() || c->size() == 0 || c->columns[0].IsNull(0)) return -1;
  const auto& col = c->columns[0];
  return col.type == store::ColumnType::kDouble ? col.doubles[0] : static_cast<double>(col.ints[0]);
}

}  // namespace passerelle::omop::synth::testing
