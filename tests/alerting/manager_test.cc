#include "vigil/alerting/manager.h"

#include <gtest/gtest.h>

TEST(AlertManager, Smoke) {
  vigil::alerting::AlertManager m;
  m.add_rule(
      vigil::alerting::AlertRule::builder().name("x").condition([] { return true; }).build());
  auto t = m.evaluate();
  EXPECT_EQ(t.size(), 1u);
}
