//! `herd keygen FILE [--force]`: writes a new random cluster key (mode 0600).
//!
//! The key is the one secret a cluster shares: copy the file to every node's `key_file`.
//! An existing file is never replaced unless `--force` is given. I/O: writes FILE.

use std::path::PathBuf;
use std::process::ExitCode;

use herd_rpc::{ClusterKey, KeyError};

/// Arguments of `herd keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the key, e.g. /etc/herd/cluster.key
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace an existing key file (every node then needs the new key)
    #[arg(long)]
    pub force: bool,
}

/// Runs `herd keygen`: exit 0 when written, 2 when the file exists or is a directory, 1 on
/// other failures.
pub fn run(args: KeygenArgs) -> ExitCode {
    if args.file.is_dir() {
        eprintln!(
            "herd keygen: {}: is a directory; give the key file's path, e.g. {}",
            args.file.display(),
            args.file.join("cluster.key").display()
        );
        return ExitCode::from(2);
    }
    let written = ClusterKey::generate().and_then(|key| key.write(&args.file, args.force));
    match written {
        Ok(()) => {
            println!(
                "wrote a new cluster key to {} (mode 0600); copy it to the key_file of every node",
                args.file.display()
            );
            ExitCode::SUCCESS
        }
        Err(err @ KeyError::Exists { .. }) => {
            eprintln!("herd keygen: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("herd keygen: {err}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_once_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cluster.key");
        assert_eq!(
            run(KeygenArgs {
                file: file.clone(),
                force: false
            }),
            ExitCode::SUCCESS
        );
        let first = ClusterKey::load(&file).unwrap();
        assert_eq!(
            run(KeygenArgs {
                file: file.clone(),
                force: false
            }),
            ExitCode::from(2)
        );
        assert_eq!(ClusterKey::load(&file).unwrap(), first);
        assert_eq!(
            run(KeygenArgs {
                file: file.clone(),
                force: true
            }),
            ExitCode::SUCCESS
        );
        assert_ne!(ClusterKey::load(&file).unwrap(), first);
    }

    #[test]
    fn keygen_into_a_directory_is_bad_input_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        for force in [false, true] {
            let args = KeygenArgs {
                file: dir.path().to_path_buf(),
                force,
            };
            assert_eq!(ExitCode::from(2), run(args));
        }
        assert_eq!(0, std::fs::read_dir(dir.path()).unwrap().count());
    }
}
