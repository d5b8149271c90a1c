// Process supervision for the launchers: fork/exec, line-by-line output forwarding over poll(),
// and "one fails, all stop" with a message naming the failure.
#include "engine/launch/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>

#include "common/error.hpp"

extern char** environ;  // POSIX: the environment the children inherit

namespace ds::launch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxLineBytes = 64 * 1024;  // a longer line without '\n' is forwarded in pieces

/// One output pipe of a child: read end and the partial line read so far.
struct Pipe {
  int fd = -1;
  std::string partial;
};

struct Child {
  pid_t pid = -1;
  Pipe out, err;
  std::deque<std::string> tail;
  bool running = true;
  int status = 0;  // waitpid status once !running
};

/// SIGINT/SIGTERM to the launcher, turned into a byte on a pipe that poll() watches.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signo) {
  const unsigned char byte = static_cast<unsigned char>(signo);
  const int saved = errno;
  [[maybe_unused]] auto n = write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

/// Installs the handlers for the lifetime of one supervise() call and restores the old ones.
class StopSignals {
 public:
  StopSignals() {
    if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw RuntimeError("launch: pipe2 failed: " + std::string(std::strerror(errno)));
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
  int fd() const { return g_signal_pipe[0]; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::vector<std::string> merged_environment(const ProcessSpec& spec) {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& [name, value] : spec.env) env[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(int null_fd, int out_fd, int err_fd, pid_t parent, char* const* argv, char* const* envp) {
  // Its own process group, so that stopping a rank also stops what it started (data loader
  // workers, a shell's children); stdin from /dev/null, as a background group must not read
  // the terminal.
  setpgid(0, 0);
  dup2(null_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);  // the launcher died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvpe(argv[0], argv, envp);
  const char* reason = strerrordesc_np(errno);
  const char prefix[] = "launch: cannot execute '";
  [[maybe_unused]] auto n = write(STDERR_FILENO, prefix, sizeof prefix - 1);
  n = write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
  n = write(STDERR_FILENO, "': ", 3);
  n = write(STDERR_FILENO, reason ? reason : "error", std::strlen(reason ? reason : "error"));
  n = write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

Child spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) throw UsageError(format_error("launch", spec.label + " has an empty command line"));
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = merged_environment(spec);
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw RuntimeError("launch: pipe2 failed: " + std::string(std::strerror(errno)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw RuntimeError("launch: fork failed for " + spec.label + ": " + std::strerror(errno));
  if (pid == 0) exec_child(null_fd, out[1], err[1], parent, argv.data(), envp.data());
  setpgid(pid, pid);  // also here, so the group exists before any kill(-pid) (fails harmlessly after exec)
  close(null_fd);
  close(out[1]);
  close(err[1]);
  Child child;
  child.pid = pid;
  child.out.fd = out[0];
  child.err.fd = err[0];
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  return child;
}

class Supervisor {
 public:
  Supervisor(const std::vector<ProcessSpec>& specs, const SuperviseOptions& options) : specs_(specs), options_(options) {
    if (!options_.on_line) {
      std::vector<std::string> labels;
      for (const ProcessSpec& spec : specs) labels.push_back(spec.label);
      options_.on_line = console_line_sink(labels);
    }
  }

  void run() {
    StopSignals signals;
    try {
      for (const ProcessSpec& spec : specs_) children_.push_back(spawn(spec));
    } catch (...) {
      stop_all(SIGKILL);
      reap_all_blocking();
      throw;
    }
    loop(signals.fd());
    if (failed_ >= 0 || stop_signal_ != 0) throw RuntimeError(failure_message());
  }

 private:
  void emit(std::size_t index, Stream stream, const std::string& line) {
    Child& child = children_[index];
    child.tail.push_back(line);
    if (child.tail.size() > options_.tail_lines) child.tail.pop_front();
    options_.on_line(index, stream, line);
  }

  /// Reads what is there; forwards complete lines; on EOF forwards the rest and closes.
  void drain(std::size_t index, Pipe& pipe, Stream stream) {
    char buffer[8192];
    for (;;) {
      ssize_t n = read(pipe.fd, buffer, sizeof buffer);
      if (n > 0) {
        pipe.partial.append(buffer, static_cast<size_t>(n));
        size_t start = 0, newline;
        while ((newline = pipe.partial.find('\n', start)) != std::string::npos) {
          emit(index, stream, pipe.partial.substr(start, newline - start));
          start = newline + 1;
        }
        pipe.partial.erase(0, start);
        if (pipe.partial.size() >= kMaxLineBytes) emit(index, stream, std::exchange(pipe.partial, {}));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (!pipe.partial.empty()) emit(index, stream, std::exchange(pipe.partial, {}));
      close(pipe.fd);
      pipe.fd = -1;
      return;
    }
  }

  /// Signals the process group of every running child, and of the failed one (what it started
  /// may still hold its pipes).
  void stop_all(int signo) {
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].running || static_cast<int>(i) == failed_) kill(-children_[i].pid, signo);
    }
  }

  void reap_all_blocking() {
    for (Child& child : children_) {
      if (child.running && waitpid(child.pid, &child.status, 0) == child.pid) child.running = false;
    }
  }

  void start_stopping() {
    stopping_since_ = Clock::now();
    stop_all(SIGTERM);
    stop_all(SIGCONT);  // a stopped (SIGSTOP, ^Z) rank acts on SIGTERM only once continued
  }

  void reap() {
    for (size_t i = 0; i < children_.size(); ++i) {
      Child& child = children_[i];
      if (!child.running || waitpid(child.pid, &child.status, WNOHANG) != child.pid) continue;
      child.running = false;
      const bool ok = WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0;
      if (!ok && failed_ < 0 && !stopping_since_) {
        failed_ = static_cast<int>(i);
        start_stopping();
      }
    }
  }

  void loop(int signal_fd);
  std::string failure_message() const;

  const std::vector<ProcessSpec>& specs_;
  SuperviseOptions options_;
  std::vector<Child> children_;
  int failed_ = -1;
  int stop_signal_ = 0;
  std::optional<Clock::time_point> stopping_since_;
  bool killed_ = false;
};

void Supervisor::loop(int signal_fd) {
  // After the last exit, output still buffered in the pipes is read for at most this long
  // (a grandchild that inherited a pipe could keep it open forever).
  constexpr auto kDrainAfterExit = std::chrono::seconds(2);
  std::optional<Clock::time_point> all_exited;
  for (;;) {
    std::vector<pollfd> fds{{signal_fd, POLLIN, 0}};
    std::vector<std::pair<size_t, Stream>> owners{{0, Stream::kStdout}};
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].out.fd >= 0) fds.push_back({children_[i].out.fd, POLLIN, 0}), owners.emplace_back(i, Stream::kStdout);
      if (children_[i].err.fd >= 0) fds.push_back({children_[i].err.fd, POLLIN, 0}), owners.emplace_back(i, Stream::kStderr);
    }
    bool any_running = false;
    for (const Child& child : children_) any_running = any_running || child.running;
    if (!any_running && (fds.size() == 1 || (all_exited && Clock::now() - *all_exited > kDrainAfterExit))) break;
    if (!any_running && !all_exited) all_exited = Clock::now();
    if (poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) throw RuntimeError("launch: poll failed: " + std::string(std::strerror(errno)));
    if (fds[0].revents & POLLIN) {
      unsigned char signo = 0;
      while (read(signal_fd, &signo, 1) == 1) stop_signal_ = signo;
      if (!stopping_since_) start_stopping();
    }
    for (size_t k = 1; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Child& child = children_[owners[k].first];
      drain(owners[k].first, owners[k].second == Stream::kStdout ? child.out : child.err, owners[k].second);
    }
    reap();
    if (stopping_since_ && !killed_ && Clock::now() - *stopping_since_ > options_.grace_period) {
      stop_all(SIGKILL);
      killed_ = true;
    }
  }
  for (Child& child : children_) {
    for (Pipe* pipe : {&child.out, &child.err}) {
      if (pipe->fd >= 0) close(pipe->fd);
    }
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signo = WTERMSIG(status);
    const char* name = sigabbrev_np(signo);
    return "was killed by signal " + std::to_string(signo) + (name ? " (SIG" + std::string(name) + ")" : std::string());
  }
  return "ended with wait status " + std::to_string(status);
}

std::string Supervisor::failure_message() const {
  const size_t others = children_.size() - 1;
  std::string message;
  if (failed_ < 0) {
    const char* name = sigabbrev_np(stop_signal_);
    return options_.where + ": interrupted by SIG" + std::string(name ? name : "?") + "; stopped all " +
           std::to_string(children_.size()) + " processes";
  }
  const Child& child = children_[static_cast<size_t>(failed_)];
  const std::string& label = specs_[static_cast<size_t>(failed_)].label;
  message = options_.where + ": " + label + " " + describe_status(child.status);
  if (others > 0) message += "; stopped the other " + std::to_string(others) + (others == 1 ? " process" : " processes");
  if (child.tail.empty()) return message + "; it printed nothing";
  message += child.tail.size() == 1 ? "\nlast line of " + label + ":"
                                    : "\nlast " + std::to_string(child.tail.size()) + " lines of " + label + ":";
  for (const std::string& line : child.tail) message += "\n  " + line;
  return message;
}

}  // namespace

LineSink console_line_sink(std::vector<std::string> labels) {
  return [labels = std::move(labels)](std::size_t index, Stream stream, const std::string& line) {
    std::string text = "[" + (index < labels.size() ? labels[index] : std::to_string(index)) + "] " + line + "\n";
    std::FILE* out = stream == Stream::kStdout ? stdout : stderr;
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
  };
}

void supervise(const std::vector<ProcessSpec>& processes, const SuperviseOptions& options) {
  if (processes.empty()) throw UsageError(format_error(options.where, "nothing to start (no processes)"));
  Supervisor(processes, options).run();
}

}  // namespace ds::launch
