// count: the number of rows of the node's analysis table.
//
// Disclosure rule (min_rows): a node with between 1 and min_rows - 1 rows releases 0 and raises
// its suppression flag; the pooled count is then null, with the number of nodes that suppressed.
#include <fmt/format.h>

#include <cmath>

#include "analysis/builtin.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

class CountSpec final : public AnalysisSpec {
 public:
  json ToJson() const override { return {{"id", id}, {"type", type}}; }
};

class CountAnalysis final : public Analysis {
 public:
  std::string_view type() const override { return "count"; }
  std::string_view description() const override { return "number of rows of the dataset"; }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<CountSpec>();
    RETURN_IF_ERROR(ParseCommonFields(j, path, {"id", "type"}, *spec));
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<size_t> ShareLength(const AnalysisSpec&, int, const RoundInput&) const override {
    return size_t{2};
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec&, int, const RoundInput&,
                              const Thresholds&) const override {
    ASSIGN_OR_RETURN(int64_t n, data.RowCount());
    NodeShare share;
    share.values = {static_cast<double>(n), 0.0};
    return share;
  }

  Status Disclose(const AnalysisSpec&, int, const RoundInput&, const Thresholds& t,
                  NodeShare& share) const override {
    if (share.values[0] >= 1 && share.values[0] < static_cast<double>(t.min_rows)) {
      share.values = {0.0, 1.0};
    }
    share.values[0] = RoundCount(share.values[0], t.rounding_base);
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec&, int, const RoundInput&,
                                 const std::vector<double>& sum, const std::vector<json>&,
                                 json&) const override {
    CombineOutcome out;
    int64_t suppressed = CountFromSum(sum[1]);
    if (suppressed > 0) {
      out.result = {
          {"n", nullptr},
          {"suppressed", fmt::format("fewer than min_rows rows at {} node(s)", suppressed)}};
    } else {
      out.result = {{"n", CountFromSum(sum[0])}};
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Analysis> MakeCountAnalysis() { return std::make_unique<CountAnalysis>(); }

int64_t CountFromSum(double v) { return static_cast<int64_t>(std::llround(v)); }

Status ValidateVariableName(std::string_view name, std::string_view path) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument(
        fmt::format("{}: a variable name has 1 to 128 characters", path));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(fmt::format("{}: control character in variable name", path));
    }
  }
  return Status::Ok();
}

}  // namespace passerelle::analysis
