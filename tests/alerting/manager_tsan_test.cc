#include <gtest/gtest.h>
TEST(AlertingTsan, Placeholder) {}
