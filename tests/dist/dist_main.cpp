// main() of the dist tests: GoogleTest inside a dist::Session, so one program runs alone (world 1)
// or under mpirun. Only rank 0 writes the XML report and the full log; the other ranks print
// their failures, prefixed with their rank.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include <descent/descent.h>

namespace {

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  // NOTE: the test's name is kept here: UnitTest::current_test_info() inside OnTestPartResult
  // waits for a lock GoogleTest holds while reporting, and the rank hangs.
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s failed at %s:%d\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(), result.message());
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  descent::dist::Options options;
  options.timeout = std::chrono::seconds(30);  // a test that hangs fails well within ctest's timeout
  descent::dist::init(argc, argv, options);
  int rank = descent::dist::rank();
  if (rank != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_xml_generator());
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  int status = RUN_ALL_TESTS();
  try {
    descent::dist::finalize();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "[rank %d] %s\n", rank, error.what());
    return 1;
  }
  return status;
}
