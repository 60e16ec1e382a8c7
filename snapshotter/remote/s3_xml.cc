#include "snapshotter/remote/s3_xml.h"

#include <expat.h>

#include <charconv>
#include <climits>
#include <functional>
#include <memory>

namespace hoodyfs::remote {
namespace {

struct ParserDeleter {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};
using UniqueParser = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter>;

// Walks a document and hands each element's text, with the path of element
// names from the root ("ListBucketResult/Contents/Key"), to `on_text` when
// the element closes; `on_open` sees each element's path as it opens.
// Namespaces are not split: S3 uses one default namespace, so local names
// are the names.
class PathWalker {
 public:
  std::function<void(const std::string& path)> on_open;
  std::function<void(const std::string& path, const std::string& text)> on_close;

  Status Parse(std::string_view xml, std::string_view what) {
    if (xml.size() > static_cast<size_t>(INT_MAX)) {
      return Status::Corruption(std::string(what) + ": larger than 2 GiB");
    }
    UniqueParser parser(XML_ParserCreate("UTF-8"));
    if (!parser) return Status::NoSpace("expat: cannot create a parser");
    XML_SetUserData(parser.get(), this);
    XML_SetElementHandler(parser.get(), &PathWalker::Start, &PathWalker::End);
    XML_SetCharacterDataHandler(parser.get(), &PathWalker::Text);
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) !=
        XML_STATUS_OK) {
      return Status::Corruption(std::string(what) + ": malformed XML at line " +
                                std::to_string(XML_GetCurrentLineNumber(parser.get())) + ": " +
                                XML_ErrorString(XML_GetErrorCode(parser.get())));
    }
    return Status::OK();
  }

 private:
  static void Start(void* self_ptr, const XML_Char* name, const XML_Char** /*attrs*/) {
    auto* self = static_cast<PathWalker*>(self_ptr);
    self->lengths_.push_back(self->path_.size());
    if (!self->path_.empty()) self->path_ += '/';
    self->path_ += name;
    self->text_.clear();
    if (self->on_open) self->on_open(self->path_);
  }
  static void End(void* self_ptr, const XML_Char* /*name*/) {
    auto* self = static_cast<PathWalker*>(self_ptr);
    if (self->on_close) self->on_close(self->path_, self->text_);
    self->text_.clear();
    self->path_.resize(self->lengths_.back());
    self->lengths_.pop_back();
  }
  static void Text(void* self_ptr, const XML_Char* s, int len) {
    static_cast<PathWalker*>(self_ptr)->text_.append(s, static_cast<size_t>(len));
  }

  std::string path_;
  std::vector<size_t> lengths_;
  std::string text_;  // of the innermost open element (S3 has no mixed content)
};

}  // namespace

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  S3ListPage page;
  std::string root;
  std::string bad_size;
  PathWalker walker;
  walker.on_open = [&](const std::string& path) {
    if (root.empty()) root = path;
    if (path == "ListBucketResult/Contents") page.objects.emplace_back();
  };
  walker.on_close = [&](const std::string& path, const std::string& text) {
    if (path == "ListBucketResult/Contents/Key") {
      page.objects.back().key = text;
    } else if (path == "ListBucketResult/Contents/Size") {
      uint64_t size = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), size);
      if (ec != std::errc() || end != text.data() + text.size()) {
        bad_size = text;
      }
      page.objects.back().size = size;
    } else if (path == "ListBucketResult/IsTruncated") {
      page.truncated = text == "true";
    } else if (path == "ListBucketResult/NextContinuationToken") {
      page.next_token = text;
    }
  };
  HOODY_RETURN_IF_ERROR(walker.Parse(xml, "ListObjectsV2 answer"));
  if (root != "ListBucketResult") {
    return Status::Corruption("ListObjectsV2 answer: root element is <" + root +
                              ">, expected <ListBucketResult>");
  }
  if (!bad_size.empty()) {
    return Status::Corruption("ListObjectsV2 answer: <Size> is not a number: " + bad_size);
  }
  if (page.truncated && page.next_token.empty()) {
    return Status::Corruption("ListObjectsV2 answer: truncated without a NextContinuationToken");
  }
  if (!page.truncated) page.next_token.clear();
  return page;
}

Result<S3ErrorDocument> ParseS3Error(std::string_view xml) {
  S3ErrorDocument doc;
  std::string root;
  PathWalker walker;
  walker.on_open = [&](const std::string& path) {
    if (root.empty()) root = path;
  };
  walker.on_close = [&](const std::string& path, const std::string& text) {
    if (path == "Error/Code") doc.code = text;
    if (path == "Error/Message") doc.message = text;
  };
  HOODY_RETURN_IF_ERROR(walker.Parse(xml, "S3 error document"));
  if (root != "Error") {
    return Status::Corruption("S3 error document: root element is <" + root +
                              ">, expected <Error>");
  }
  return doc;
}

}  // namespace hoodyfs::remote
