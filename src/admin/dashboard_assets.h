// src/admin/dashboard_assets.h (internal): the dashboard's files (web/dashboard.*, and uPlot's
// built files when web/node_modules had them at configure time), embedded into vigil_admin by
// cmake/EmbedDashboard.cmake at build time into dashboard_assets.cc in the build tree.
#pragma once

#include <span>
#include <string_view>

namespace vigil::admin::detail {

struct DashboardAsset {
  std::string_view path;          // "/dashboard", "/dashboard/dashboard.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// Every embedded file; static storage, never changes.
std::span<const DashboardAsset> dashboard_assets() noexcept;

// Whether uPlot was embedded (the page draws charts); false: tables only, with a notice.
bool dashboard_has_charts() noexcept;

}  // namespace vigil::admin::detail
