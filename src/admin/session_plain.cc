// Sessions over plain TCP: the Session<beast::tcp_stream> instantiation (see server_impl.h).
#include <memory>
#include <string>
#include <utility>

#include "session.h"

namespace vigil::admin {

void Server::Impl::start_plain_session(std::string address, tcp::socket socket) {
  auto session =
      std::make_shared<Session<beast::tcp_stream>>(*this, std::move(address), std::move(socket));
  register_connection(session);
  session->start();
}

}  // namespace vigil::admin
