// Bad input to the importer: each case must fail cleanly with the right StatusCode and a
// message naming the file and the problem.
#include <gtest/gtest.h>

#include <random>

#include "model_builder.h"
#include "onnx/importer.h"
#include "onnx_test_util.h"
#include "support/test_support.h"

namespace kiln::onnx {
namespace {

namespace fs = std::filesystem;
using ::onnx::TensorProto;

// Asserts `r` failed with `code` and a message containing every one of `parts`.
void expect_error(const Result<ir::Graph>& r, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  for (const std::string& part : parts)
    EXPECT_NE(r.status().message().find(part), std::string::npos) << "'" << part << "' not in: " << r.status().message();
}
#define EXPECT_ERROR(result, status_code, ...) \
  do {                                          \
    SCOPED_TRACE("EXPECT_ERROR");               \
    expect_error((result), (status_code), {__VA_ARGS__}); \
  } while (0)

const char* kExtModel = "models/reid/osnet_x0_25_msmt17_extdata/osnet_x0_25_msmt17.onnx";

TEST(ImportErrors, TruncatedModel) {
  KILN_REQUIRE_ASSETS();
  std::vector<uint8_t> bytes = test::read_bytes(kiln::test::asset("models/yolo11n.onnx"));
  fs::path path = kiln::test::temp_dir() / "half.onnx";
  test::write_bytes(path, bytes.data(), bytes.size() / 2);
  Result<ir::Graph> r = import_model(path);
  EXPECT_ERROR(r, StatusCode::kCorrupt, path.string() + ": not a valid ONNX model (truncated or corrupt protobuf)");
}

TEST(ImportErrors, RandomBytesNeverImport) {
  std::mt19937 rng(1234);
  int parsed_as_protobuf = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> bytes(1 + rng() % 2048);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    ::onnx::ModelProto probe;
    if (probe.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) ++parsed_as_protobuf;
    Result<ir::Graph> r = import_model_bytes(bytes, "noise.onnx", ".");
    ASSERT_FALSE(r.ok()) << "random blob " << i << " imported";
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().message();
    EXPECT_EQ(r.status().message().rfind("noise.onnx: not a valid ONNX model (", 0), 0u) << r.status().message();
  }
  // The point of validation: some of these parse as a protobuf message and still must fail.
  EXPECT_GT(parsed_as_protobuf, 0);
}

TEST(ImportErrors, EmptyFile) {
  fs::path path = kiln::test::temp_dir() / "empty.onnx";
  test::write_bytes(path, "", 0);
  Result<ir::Graph> r = import_model(path);
  EXPECT_ERROR(r, StatusCode::kCorrupt, path.string() + ": empty file");
}

TEST(ImportErrors, MissingFileAndDirectory) {
  fs::path dir = kiln::test::temp_dir();
  Result<ir::Graph> missing = import_model(dir / "nope.onnx");
  EXPECT_ERROR(missing, StatusCode::kNotFound, (dir / "nope.onnx").string(), "no such file");
  Result<ir::Graph> directory = import_model(dir);
  EXPECT_ERROR(directory, StatusCode::kInvalidArgument, dir.string(), "is a directory");
}

TEST(ImportErrors, UnsupportedOpNamesOpNodeAndOpset) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {1, 4, 8});
  test::add_node(m, "LSTM", "encoder/lstm", {"x"}, {"y"});
  test::add_output(m, "y");
  Result<ir::Graph> r = test::import_proto(m, "lstm.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().message(), "lstm.onnx: unsupported op 'LSTM' (node 'encoder/lstm', opset 17)");
}

TEST(ImportErrors, CustomDomainOpIsNamedWithDomain) {
  ::onnx::ModelProto m = test::make_model(17);
  auto* ms = m.add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  test::add_input(m, "x", {1, 3, 8, 8});
  test::add_node(m, "Relu", "relu", {"x"}, {"r"});
  test::add_node(m, "FusedConv", "fused", {"r"}, {"y"}, "com.microsoft");
  test::add_output(m, "y");
  Result<ir::Graph> r = test::import_proto(m, "ms.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().message(), "ms.onnx: unsupported op 'com.microsoft.FusedConv' (node 'fused', opset 1)");
}

TEST(ImportErrors, SupportedOpNameInCustomDomainIsRejected) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {4});
  test::add_node(m, "Relu", "r", {"x"}, {"y"}, "my.domain");
  test::add_output(m, "y");
  Result<ir::Graph> r = test::import_proto(m, "dom.onnx");
  EXPECT_ERROR(r, StatusCode::kUnsupported, "dom.onnx: unsupported op 'my.domain.Relu' (node 'r', opset 17)");
}

TEST(ImportErrors, StructuralValidation) {
  auto valid = [] {
    ::onnx::ModelProto m = test::make_model(17);
    test::add_input(m, "x", {4});
    test::add_node(m, "Relu", "r", {"x"}, {"y"});
    test::add_output(m, "y");
    return m;
  };
  ASSERT_TRUE(test::import_proto(valid()).ok());

  ::onnx::ModelProto no_ir = valid();
  no_ir.clear_ir_version();
  EXPECT_ERROR(test::import_proto(no_ir, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "ir_version");

  ::onnx::ModelProto no_opset = valid();
  no_opset.clear_opset_import();
  EXPECT_ERROR(test::import_proto(no_opset, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "opset_import");

  ::onnx::ModelProto no_nodes = valid();
  no_nodes.mutable_graph()->clear_node();
  EXPECT_ERROR(test::import_proto(no_nodes, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "no nodes");

  ::onnx::ModelProto no_outputs = valid();
  no_outputs.mutable_graph()->clear_output();
  EXPECT_ERROR(test::import_proto(no_outputs, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "no outputs");

  ::onnx::ModelProto dangling = valid();
  dangling.mutable_graph()->mutable_node(0)->set_input(0, "ghost");
  EXPECT_ERROR(test::import_proto(dangling, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "'r'", "'ghost'");

  ::onnx::ModelProto unproduced = valid();
  unproduced.mutable_graph()->mutable_output(0)->set_name("z");
  EXPECT_ERROR(test::import_proto(unproduced, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ",
               "graph output 'z' is not produced");

  ::onnx::ModelProto out_of_order = valid();
  test::add_node(out_of_order, "Relu", "late", {"x"}, {"w"});
  out_of_order.mutable_graph()->mutable_node(0)->set_input(0, "w");  // uses a value defined later
  EXPECT_ERROR(test::import_proto(out_of_order, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "'w'");

  ::onnx::ModelProto twice = valid();
  test::add_node(twice, "Relu", "again", {"x"}, {"y"});
  EXPECT_ERROR(test::import_proto(twice, "a.onnx"), StatusCode::kCorrupt, "a.onnx: ", "redefines value 'y'");
}

TEST(ImportErrors, UnsupportedDtypeNamesTensor) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {2});
  test::add_initializer(m, "scale64", TensorProto::DOUBLE, {2})->add_double_data(1.0);
  test::add_node(m, "Mul", "mul", {"x", "scale64"}, {"y"});
  test::add_output(m, "y");
  EXPECT_ERROR(test::import_proto(m, "d.onnx"), StatusCode::kUnsupported, "d.onnx: ", "'scale64'", "DOUBLE");
}

TEST(ImportErrors, InitializerDataSizeMismatch) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {3});
  test::add_initializer(m, "w", TensorProto::FLOAT, {3})->set_raw_data(std::string(8, '\0'));
  test::add_node(m, "Mul", "mul", {"x", "w"}, {"y"});
  test::add_output(m, "y");
  EXPECT_ERROR(test::import_proto(m, "s.onnx"), StatusCode::kCorrupt, "s.onnx: ", "'w'", "8 bytes", "needs 12");

  ::onnx::ModelProto huge = test::make_model(17);
  test::add_input(huge, "x", {3});
  test::add_initializer(huge, "w", TensorProto::FLOAT, {int64_t{1} << 40, int64_t{1} << 40});
  test::add_node(huge, "Mul", "mul", {"x", "w"}, {"y"});
  test::add_output(huge, "y");
  EXPECT_ERROR(test::import_proto(huge, "h.onnx"), StatusCode::kCorrupt, "h.onnx: ", "'w'", "invalid shape");
}

TEST(ImportErrors, GraphAttributeIsUnsupported) {
  ::onnx::ModelProto m = test::make_model(17);
  test::add_input(m, "x", {2});
  auto* n = test::add_node(m, "Relu", "r", {"x"}, {"y"});
  test::add_attr(n, "body", ::onnx::AttributeProto::GRAPH)->mutable_g()->set_name("sub");
  test::add_output(m, "y");
  EXPECT_ERROR(test::import_proto(m, "g.onnx"), StatusCode::kUnsupported, "g.onnx: ", "'body'", "'r'", "GRAPH");
}

class ExternalDataErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kiln::test::asset(kExtModel))) GTEST_SKIP() << "assets not found";
    dir_ = kiln::test::temp_dir();
    model_path_ = dir_ / "osnet.onnx";
    std::vector<uint8_t> bytes = test::read_bytes(kiln::test::asset(kExtModel));
    ASSERT_TRUE(model_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  }
  // The first initializer stored externally, and its external_data entry `key`.
  std::pair<TensorProto*, ::onnx::StringStringEntryProto*> first_external(const std::string& key) {
    for (auto& t : *model_.mutable_graph()->mutable_initializer())
      if (t.data_location() == TensorProto::EXTERNAL)
        for (auto& e : *t.mutable_external_data())
          if (e.key() == key) return {&t, &e};
    return {nullptr, nullptr};
  }
  void write_model() {
    std::string out = model_.SerializeAsString();
    test::write_bytes(model_path_, out.data(), out.size());
  }
  void copy_data_file() {
    fs::copy_file(kiln::test::asset(std::string(kExtModel) + ".data"), dir_ / "osnet_x0_25_msmt17.onnx.data");
  }

  fs::path dir_, model_path_;
  ::onnx::ModelProto model_;
};

TEST_F(ExternalDataErrors, MissingDataFileNamesModelDataFileAndInitializer) {
  write_model();  // the .onnx alone, without its .data beside it
  auto [tensor, location] = first_external("location");
  ASSERT_NE(tensor, nullptr);
  Result<ir::Graph> r = import_model(model_path_);
  EXPECT_ERROR(r, StatusCode::kNotFound, model_path_.string() + ": ",
               (dir_ / "osnet_x0_25_msmt17.onnx.data").string(), "'" + tensor->name() + "'", "not found");
}

TEST_F(ExternalDataErrors, CopiedBesideItsDataImports) {
  write_model();
  copy_data_file();
  Result<ir::Graph> r = import_model(model_path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST_F(ExternalDataErrors, OffsetBeyondEndOfFile) {
  auto [tensor, offset] = first_external("offset");
  ASSERT_NE(tensor, nullptr);
  offset->set_value(std::to_string(fs::file_size(kiln::test::asset(std::string(kExtModel) + ".data")) + 16));
  write_model();
  copy_data_file();
  Result<ir::Graph> r = import_model(model_path_);
  EXPECT_ERROR(r, StatusCode::kCorrupt, model_path_.string() + ": ", "'" + tensor->name() + "'",
               "beyond the end", "osnet_x0_25_msmt17.onnx.data");
}

TEST_F(ExternalDataErrors, LengthNotMatchingShape) {
  auto [tensor, length] = first_external("length");
  ASSERT_NE(tensor, nullptr);
  length->set_value("4");
  write_model();
  copy_data_file();
  EXPECT_ERROR(import_model(model_path_), StatusCode::kCorrupt, model_path_.string() + ": ",
               "'" + tensor->name() + "'", "has 4 bytes");
}

TEST_F(ExternalDataErrors, LocationsOutsideTheModelFolderAreRefused) {
  for (const std::string& escape : {std::string("/etc/passwd"), std::string("../osnet_x0_25_msmt17.onnx.data"),
                                    std::string("sub/../../x.data")}) {
    auto [tensor, location] = first_external("location");
    ASSERT_NE(tensor, nullptr);
    location->set_value(escape);
    write_model();
    EXPECT_ERROR(import_model(model_path_), StatusCode::kCorrupt, model_path_.string() + ": ",
                 "'" + tensor->name() + "'", "'" + escape + "' outside the model's folder");
  }
}

// A symlink inside the model's folder that leads outside it (here to the real data file in
// the assets, standing for any file on the machine) is refused like a '..' location; a link
// staying inside the folder is fine.
TEST_F(ExternalDataErrors, SymlinkLeadingOutsideTheModelFolderIsRefused) {
  auto [tensor, location] = first_external("location");
  ASSERT_NE(tensor, nullptr);
  write_model();
  fs::create_symlink(fs::absolute(kiln::test::asset(std::string(kExtModel) + ".data")),
                     dir_ / "osnet_x0_25_msmt17.onnx.data");
  EXPECT_ERROR(import_model(model_path_), StatusCode::kCorrupt, model_path_.string() + ": ",
               "'" + tensor->name() + "'", "resolves outside the model's folder");

  fs::remove(dir_ / "osnet_x0_25_msmt17.onnx.data");
  fs::create_directory(dir_ / "weights");
  fs::copy_file(kiln::test::asset(std::string(kExtModel) + ".data"), dir_ / "weights" / "real.data");
  fs::create_symlink("weights/real.data", dir_ / "osnet_x0_25_msmt17.onnx.data");
  Result<ir::Graph> r = import_model(model_path_);
  EXPECT_TRUE(r.ok()) << r.status().message();
}

}  // namespace
}  // namespace kiln::onnx
