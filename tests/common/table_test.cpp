#include "common/table.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds {

TEST(Table, AlignsColumns) {
  Table t({"stage", "per-GPU"}, {Table::Align::kLeft, Table::Align::kRight});
  t.add_row({"0", "120.00 GiB"});
  t.add_row({"3", "1.90 GiB"});
  EXPECT_EQ(t.render(),
            "stage     per-GPU\n"
            "-----  ----------\n"
            "0      120.00 GiB\n"
            "3        1.90 GiB\n");
}

TEST(Table, RejectsRaggedRows) {
  Table t({"a", "b"});
  EXPECT_THROW(t.add_row({"1"}), RuntimeError);
}

}  // namespace ds
