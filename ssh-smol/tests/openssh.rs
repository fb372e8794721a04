//! The real OpenSSH client against the smol adapter.

use conformance::{check_openssh_password_exec, fresh_server_config, ReplyHandler};

#[test]
fn openssh_password_exec_exit_status() {
    let server = smol::block_on(ssh_smol::Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        fresh_server_config(),
        ReplyHandler,
    ))
    .unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || smol::block_on(server.run()));
    check_openssh_password_exec(port);
}
