// Placeholder until the notification data model lands in the template engine: parses, and
// refuses to render. (Replaced by the wt-tmpl work.)
#include "alerting/notify/notification_template.h"

namespace vigil::alerting {

vigil::detail::ParseResult<tmpl::Template> parse_notification_template(std::string_view text,
                                                                       std::string_view name) {
  return tmpl::Template::parse(text, name);
}

vigil::detail::ParseResult<std::string> render_notification(const tmpl::Template& t,
                                                            const NotificationGroup& group) {
  (void)t;
  (void)group;
  return vigil::detail::ParseResult<std::string>::fail("notification templates: not built yet");
}

const std::string_view kDefaultSlackTitle = "";
const std::string_view kDefaultSlackTitleLink = "";
const std::string_view kDefaultSlackText = "";
const std::string_view kDefaultEmailSubject = "";
const std::string_view kDefaultEmailHtml = "";
const std::string_view kDefaultEmailText = "";
const std::string_view kDefaultPagerDutyDescription = "";

}  // namespace vigil::alerting
