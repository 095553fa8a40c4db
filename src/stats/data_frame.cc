#include "stats/data_frame.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cmath>
#include <utility>

namespace passerelle::stats {

DataColumn DataColumn::Numeric(std::string name, std::vector<double> values) {
  DataColumn c;
  c.name = std::move(name);
  c.numbers = std::move(values);
  return c;
}

DataColumn DataColumn::String(std::string name, std::vector<std::string> values,
                              std::vector<uint8_t> missing) {
  DataColumn c;
  c.name = std::move(name);
  c.is_string = true;
  c.strings = std::move(values);
  c.missing = std::move(missing);
  return c;
}

bool DataColumn::IsMissing(size_t row) const {
  if (is_string) return !missing.empty() && missing[row] != 0;
  return std::isnan(numbers[row]);
}

size_t DataFrame::ReleaseColumnData(std::string_view name) {
  size_t bytes = 0;
  for (auto& c : columns_) {
    if (c.name != name) continue;
    bytes += c.numbers.capacity() * sizeof(double) + c.strings.capacity() * sizeof(std::string) +
             c.missing.capacity();
    std::vector<double>().swap(c.numbers);
    std::vector<std::string>().swap(c.strings);
    std::vector<uint8_t>().swap(c.missing);
  }
  return bytes;
}

void ReturnFreedMemory() {
#ifdef __GLIBC__
  // glibc keeps freed blocks below its (adaptive) mmap threshold in the heap; hand them back.
  malloc_trim(0);
#endif
}

Status DataFrame::AddColumn(DataColumn column) {
  if (column.name.empty()) return Status::InvalidArgument("data frame: a column has no name");
  if (Find(column.name) != nullptr) {
    return Status::InvalidArgument("data frame: duplicate column \"" + column.name + "\"");
  }
  if (column.is_string && !column.missing.empty() &&
      column.missing.size() != column.strings.size()) {
    return Status::InvalidArgument("data frame: column \"" + column.name +
                                   "\": missing flags and values differ in length");
  }
  if (!columns_.empty() && column.size() != rows_) {
    return Status::InvalidArgument("data frame: column \"" + column.name + "\" has " +
                                   std::to_string(column.size()) + " rows, the others " +
                                   std::to_string(rows_));
  }
  rows_ = column.size();
  columns_.push_back(std::move(column));
  return Status::Ok();
}

const DataColumn* DataFrame::Find(std::string_view name) const {
  for (const auto& c : columns_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<const DataColumn*> DataFrame::Get(std::string_view name) const {
  if (const DataColumn* c = Find(name)) return c;
  std::string known;
  for (const auto& c : columns_) {
    if (!known.empty()) known += ", ";
    known += c.name;
  }
  return Status::NotFound("no column \"" + std::string(name) +
                          "\" in the analysis table (has: " + known + ")");
}

}  // namespace passerelle::stats
