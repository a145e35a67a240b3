// The notification log across a crash: a child process delivers to a file-appending notifier and
// is killed with SIGKILL in the middle of a delivery; the parent restarts a dispatcher on the
// same state_path. Every notification is delivered at least once (the unconfirmed ones again),
// and none that was confirmed is repeated inside its repeat interval.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dispatcher_test_util.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::make_alert;
using testing::notification_of;

// Appends "<pid> <group key> <alerts>" to a file for every delivery; hangs after appending the
// group whose alertname is `hang_on` (the process is killed there: delivered, not confirmed).
class FileNotifier : public Notifier {
 public:
  FileNotifier(std::string path, std::string hang_on)
      : path_(std::move(path)), hang_on_(std::move(hang_on)) {}
  std::string_view integration() const noexcept override { return "file"; }
  DeliveryResult notify(const NotificationGroup& g, const DeliveryContext&) override {
    std::string line = std::to_string(::getpid()) + " " + std::string(g.group_labels[0].second) +
                       " " + std::to_string(g.alerts.size()) + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return DeliveryResult::retry("open failed");
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) return DeliveryResult::retry("write failed");
    if (!hang_on_.empty() && g.group_labels[0].second == hang_on_) {
      for (;;) ::pause();  // killed here
    }
    return DeliveryResult::delivered();
  }

 private:
  std::string path_, hang_on_;
};

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));
const std::vector<std::string> kNames = {"A", "B", "C", "D"};

DispatcherOptions options_for(const std::string& db, std::shared_ptr<Notifier> n,
                              FakeClock& clock) {
  DispatcherOptions o;
  o.routing.route.receiver = "file";
  o.routing.route.group_by = std::vector<std::string>{"alertname"};
  o.routing.route.group_wait = 30s;
  o.routing.route.group_interval = 5min;
  o.routing.route.repeat_interval = 4h;
  ReceiverConfig rc;
  rc.name = "file";
  rc.notifiers.push_back(std::move(n));
  o.routing.receivers.push_back(std::move(rc));
  o.clock = clock.fn();
  o.run_timer_thread = false;
  o.state_path = db;
  return o;
}

Notification all_alerts(TimePoint t) {
  std::vector<Alert> alerts;
  for (const auto& name : kNames) alerts.push_back(make_alert({{"alertname", name}}, kT0));
  return notification_of(std::move(alerts), t);
}

// The deliveries recorded in the file: alertname -> count (and which processes).
std::map<std::string, int> deliveries(const std::string& path, std::set<std::string>* pids) {
  std::map<std::string, int> out;
  std::ifstream f(path);
  std::string pid, name, count;
  while (f >> pid >> name >> count) {
    ++out[name];
    if (pids) pids->insert(pid);
  }
  return out;
}

TEST(DispatcherCrash, KilledMidDeliveryRedeliversAndDoesNotRepeat) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vigil_dispatch_crash_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "state.db").string();
  const std::string out = (dir / "deliveries.txt").string();

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: four groups due at once; A and B are delivered and confirmed, C is killed in
    // the middle of its delivery, D waits in the queue.
    try {
      FakeClock clock(kT0);
      Dispatcher d(options_for(db, std::make_shared<FileNotifier>(out, "C"), clock));
      d.start();
      d.submit(all_alerts(kT0));
      clock.advance(30s);
      d.tick();
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  // Wait (bounded) until C's delivery has been written, then kill -9.
  bool hung = false;
  for (int i = 0; i < 1000 && !hung; ++i) {
    hung = deliveries(out, nullptr).count("C") > 0;
    if (!hung) std::this_thread::sleep_for(10ms);
  }
  ::kill(child, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(hung) << "the child never reached C's delivery";
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  auto before = deliveries(out, nullptr);
  EXPECT_EQ(before, (std::map<std::string, int>{{"A", 1}, {"B", 1}, {"C", 1}}));

  // The restart, 2 minutes later: C (unconfirmed) and D (queued) are sent again.
  FakeClock clock(kT0 + 2min);
  Dispatcher d(options_for(db, std::make_shared<FileNotifier>(out, ""), clock));
  auto st = d.status();
  EXPECT_TRUE(st.log_ok) << st.log_error;
  EXPECT_EQ(st.redelivered, 2u);
  d.start();
  ASSERT_TRUE(d.flush(10s));
  // The engine keeps sending the same alerts: the restarted groups flush after group_wait, and
  // nothing is sent again (A, B delivered 2 min ago; C, D just now; repeat_interval 4 h).
  d.submit(all_alerts(clock.now()));
  clock.advance(30s);
  d.tick();
  clock.advance(5min);
  d.tick();
  ASSERT_TRUE(d.flush(10s));
  std::set<std::string> pids;
  auto after = deliveries(out, &pids);
  EXPECT_EQ(after, (std::map<std::string, int>{{"A", 1}, {"B", 1}, {"C", 2}, {"D", 1}}));
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_EQ(d.status().receivers[0].integrations[0].sent, 2u);
  // After repeat_interval all four are sent again (the dedup state outlived the crash).
  clock.set(kT0 + 30s + 4h + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(10s));
  after = deliveries(out, nullptr);
  EXPECT_EQ(after, (std::map<std::string, int>{{"A", 2}, {"B", 2}, {"C", 3}, {"D", 2}}));
  d.shutdown(1s);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::alerting
