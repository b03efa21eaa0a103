//! The cluster key file: written 0600, never overwritten by accident, refused when others
//! can read it.

use std::os::unix::fs::PermissionsExt;

use herd_rpc::{ClusterKey, KeyError};

#[test]
fn written_key_is_private_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.key");
    let key = ClusterKey::generate().unwrap();
    key.write(&path, false).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(ClusterKey::load(&path).unwrap(), key);
}

#[test]
fn existing_key_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.key");
    let first = ClusterKey::generate().unwrap();
    first.write(&path, false).unwrap();
    let err = ClusterKey::generate()
        .unwrap()
        .write(&path, false)
        .unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err}");
    assert_eq!(ClusterKey::load(&path).unwrap(), first);
    let second = ClusterKey::generate().unwrap();
    second.write(&path, true).unwrap();
    assert_eq!(ClusterKey::load(&path).unwrap(), second);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.key");
    ClusterKey::generate().unwrap().write(&path, false).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = ClusterKey::load(&path).unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn garbage_key_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.key");
    std::fs::write(&path, "hello").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = ClusterKey::load(&path).unwrap_err();
    assert!(matches!(err, KeyError::Format { .. }), "{err}");
    assert!(err.to_string().contains("cluster.key"), "{err}");
}
