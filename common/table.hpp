#pragma once
#include <string>
#include <vector>

namespace ds {

/// A plain-text table for terminal output: a header row, aligned columns (numbers right-aligned
/// when the column is marked so), two spaces between columns.
class Table {
 public:
  enum class Align { kLeft, kRight };

  explicit Table(std::vector<std::string> header, std::vector<Align> align = {});
  void add_row(std::vector<std::string> row);
  std::size_t rows() const { return rows_.size(); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ds
